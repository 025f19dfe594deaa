/** The HTTP_REDIRECT_PORT listener's one answer: a 308 to the same host, path and query over HTTPS on PORT. */
import { jsonError } from './json-error.ts';

/** A Host header's host part: a registered name or IPv4 address (RFC 3986 §3.2.2), or a bracketed IPv6 literal, then an optional port. */
const HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)(?::\d{1,5})?$/i;

/**
 * The redirect for a plain-HTTP request (RFC 9110 §15.4.9: 308 keeps the method and body, unlike 301). The
 * Location keeps the client's own host name with the HTTPS port, and the request's path and query byte for
 * byte. A Host that is not a plain host name gets 400 rather than being copied into a Location header.
 */
export function httpsRedirect(host: string | null, target: string, httpsPort: number): Response {
  if (host === null || !HOST.test(host)) return jsonError(400, 'a request to the HTTP redirect port needs a valid Host header');
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  const authority = httpsPort === 443 ? name : `${name}:${httpsPort}`;
  return new Response(null, {
    status: 308,
    headers: { location: `https://${authority}${target.startsWith('/') ? target : '/'}`, 'cache-control': 'no-store', 'content-length': '0' },
  });
}
