/** Validates the Host header of a request (RFC 9110 §7.2, RFC 9112 §3.2), so that an invalid one gets 400 before anything else. */

export type HostCheck = { readonly ok: true; readonly host: string | undefined } | { readonly ok: false; readonly reason: string };

/** RFC 3986 §3.2.2 reg-name: unreserved, pct-encoded and sub-delims. No `@` (userinfo), `/`, `?`, `#`, `\`, space or `%` alone. */
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
/** RFC 3986 §3.2.2 IPvFuture (`v1.x`), inside the brackets of an IP-literal. */
const IPV_FUTURE = /^v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;
/** Characters an IPv6address can contain (hex digits, `:` and a dotted IPv4 tail); the URL parser then checks its shape. */
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;
/** RFC 3986 §3.2.3 port = *DIGIT; Fairway also requires it to name a TCP port. */
const PORT = /^\d{0,5}$/;

function isIpv6(text: string): boolean {
  if (!IPV6_CHARS.test(text) || !text.includes(':')) return false;
  try {
    // The WHATWG URL parser implements the IPv6 grammar exactly; hand-writing it again would only add bugs.
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

/** Splits `host[:port]` and checks each part against RFC 3986. Returns the reason it is invalid, or undefined. */
export function invalidHostReason(value: string): string | undefined {
  if (value === '') {
    // RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid; nginx answers 400 as well.
    return 'the Host header is empty';
  }
  let host: string;
  let port: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close === -1) return 'the Host header opens an IP literal with "[" but never closes it';
    host = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return 'the Host header has characters after its IP literal that are not a port';
    port = rest === '' ? undefined : rest.slice(1);
    if (!isIpv6(host) && !IPV_FUTURE.test(host)) return 'the Host header has an IP literal that is not a valid IPv6 address';
  } else {
    const colon = value.lastIndexOf(':');
    host = colon === -1 ? value : value.slice(0, colon);
    port = colon === -1 ? undefined : value.slice(colon + 1);
    if (host === '') return 'the Host header has a port but no host';
    if (!REG_NAME.test(host)) return "the Host header is not a host name or address: it may hold only letters, digits and -._~!$&'()*+,;= and %XX";
  }
  // `example.com:` (an empty port) is allowed: RFC 3986 §3.2.3 grammar permits it, and nginx accepts it.
  if (port !== undefined && (!PORT.test(port) || Number(port) > 65535)) return 'the Host header has a port that is not a number from 0 to 65535';
  return undefined;
}

/**
 * Checks a request's Host field lines. `values` holds each Host field line as received, where the runtime
 * exposes raw headers (node:http's `rawHeaders`); a runtime that only gives the combined value passes one
 * element, and two lines then arrive joined by ", ", which contains a space and so fails the grammar anyway.
 * `httpVersion` ("1.0", "1.1") decides whether a missing Host is allowed; when the runtime does not say,
 * a missing Host is allowed (the runtime's own parser has already accepted the request).
 */
export function checkHost(values: readonly string[], httpVersion?: string): HostCheck {
  if (values.length > 1) return { ok: false, reason: 'the request has more than one Host header' }; // RFC 9112 §3.2
  const [value] = values;
  if (value === undefined) {
    // RFC 9112 §3.2: an HTTP/1.1 request must carry Host; HTTP/1.0 predates it.
    if (httpVersion !== undefined && httpVersion !== '1.0' && httpVersion !== '0.9') return { ok: false, reason: 'the request has no Host header' };
    return { ok: true, host: undefined };
  }
  // Optional whitespace around a field value is not part of it (RFC 9110 §5.5); the runtimes differ on trimming it.
  const trimmed = value.replace(/^[ \t]+|[ \t]+$/g, '');
  const reason = invalidHostReason(trimmed);
  return reason === undefined ? { ok: true, host: trimmed } : { ok: false, reason };
}

/** Host field lines from node:http's `rawHeaders` (name, value, name, value...), in order. */
export function hostLines(rawHeaders: readonly string[]): string[] {
  let lines: string[] | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (isHostName(rawHeaders[i]!)) {
      // The one line nearly every request has, as an exactly sized literal (`[]` then `push` reserves room for 17).
      if (lines === undefined) lines = [rawHeaders[i + 1]!];
      else lines.push(rawHeaders[i + 1]!);
    }
  }
  return lines ?? [];
}

/** `host` in any case, without the string `toLowerCase` would make for every request's Host line. */
const isHostName = (name: string): boolean =>
  name.length === 4 && (name.charCodeAt(0) | 0x20) === 0x68 && (name.charCodeAt(1) | 0x20) === 0x6f && (name.charCodeAt(2) | 0x20) === 0x73 &&
  (name.charCodeAt(3) | 0x20) === 0x74;
