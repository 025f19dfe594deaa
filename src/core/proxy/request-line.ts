/** Checks of the request line and framing headers that the runtimes' parsers let through, answered before anything is forwarded. */
import type { HeaderMap } from './hop-by-hop.ts';

/**
 * The status and reason for a request's HTTP version, or undefined for HTTP/1.0 and 1.1 (the versions the
 * proxy speaks on this path). Node's parser accepts `GET /` (HTTP/0.9, no version) and `HTTP/2.0` in a
 * text request line; forwarding them as HTTP/1.1 would change their meaning. RFC 9110 §15.6.6: 505 for a
 * major version the server does not support; HTTP/0.9 is not HTTP/1.x syntax at all (RFC 9112 §2.3), so 400.
 */
export function unsupportedVersion(httpVersion: string | undefined): { status: number; reason: string } | undefined {
  if (httpVersion === undefined || httpVersion === '1.1' || httpVersion === '1.0') return undefined;
  if (httpVersion.startsWith('0.') || httpVersion === '') return { status: 400, reason: 'the request line has no HTTP/1.x version' };
  return { status: 505, reason: `HTTP/${httpVersion} is not supported in an HTTP/1.x request line; use HTTP/1.1` };
}

/** One Content-Length value: digits only (RFC 9110 §8.6). */
const LENGTH = /^\d+$/;

/**
 * The reason a request's Content-Length is unusable, or undefined when it is absent or one valid number.
 * RFC 9112 §6.3: a Content-Length that is not a single valid number (`5, 5`, `abc`, two field lines) makes
 * the framing unreliable; a server must answer 400. The runtimes disagree about such values (Bun's fetch
 * throws on `5, 5`), and a throw there would otherwise read as the server failing.
 */
export function invalidContentLength(headers: HeaderMap): string | undefined {
  const value = headers.get('content-length');
  if (value === null) return undefined;
  const trimmed = value.replace(/^[ \t]+|[ \t]+$/g, '');
  return LENGTH.test(trimmed) ? undefined : 'the Content-Length header is not one whole number of bytes';
}
