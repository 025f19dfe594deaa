/**
 * REWRITE_LOCATION: a redirect that points at the selected server's own origin is rewritten to the origin
 * the client used, as nginx's `proxy_redirect default` does, so clients are never sent to an internal address.
 */
import type { HeaderMap } from './hop-by-hop.ts';

/** `scheme://authority` at the start of an absolute URI (RFC 3986 §3), and what follows it. */
const ABSOLUTE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;
/** `Refresh: 5; url=http://...` (the non-standard header every browser honours): delay, separator, and the URL. */
const REFRESH = /^(\s*\d+(?:\.\d*)?\s*[;,]\s*url\s*=\s*)(['"]?)(.*?)(\2\s*)$/is;

/** Origin of an absolute `scheme://authority`, normalised by the URL parser (case, default port); undefined if it is not one. */
function originOf(scheme: string, authority: string): string | undefined {
  // userinfo in a redirect is not the server's own origin as the client would see it; leave such a value alone.
  if (authority.includes('@')) return undefined;
  try {
    const url = new URL(`${scheme}://${authority}/`);
    return url.origin === 'null' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

/**
 * The client-facing origin from the TLS flag and the request's validated Host (see host.ts), or `''` when
 * there is no Host (HTTP/1.0): the rewrite then yields an absolute path, which RFC 9110 §10.2.2 allows in Location.
 */
export function clientOrigin(secure: boolean, host: string | undefined): string {
  return host === undefined ? '' : `${secure ? 'https' : 'http'}://${host}`;
}

/**
 * Rewrites one URI reference: when it is absolute and its origin is `serverOrigin`, that origin is replaced
 * by `clientFacingOrigin` and the rest (path, query, fragment) is kept byte for byte. Anything else (a relative
 * reference, another host) is returned unchanged.
 */
export function rewriteUri(value: string, serverOrigin: string, clientFacingOrigin: string): string {
  const match = ABSOLUTE.exec(value);
  if (match === null) return value;
  const [, scheme = '', authority = '', rest = ''] = match;
  if (originOf(scheme, authority) !== serverOrigin) return value;
  if (clientFacingOrigin === '' && rest === '') return '/';
  return clientFacingOrigin + rest;
}

/** Rewrites the URL inside a `Refresh` value (`5; url=...`); other forms are left alone. */
export function rewriteRefresh(value: string, serverOrigin: string, clientFacingOrigin: string): string {
  const match = REFRESH.exec(value);
  if (match === null) return value;
  const [, prefix = '', quote = '', url = '', suffix = ''] = match;
  const rewritten = rewriteUri(url, serverOrigin, clientFacingOrigin);
  return rewritten === url ? value : prefix + quote + rewritten + suffix;
}

/**
 * Rewrites, in place, the response headers that carry URIs clients follow: Location and Refresh (what
 * nginx's `proxy_redirect` covers) and Content-Location (what Apache's `ProxyPassReverse` covers too).
 * `serverOrigin` is the selected server's configured origin (e.g. `http://10.0.0.1:5001`).
 */
export function rewriteLocationHeaders(headers: HeaderMap, serverOrigin: string, clientFacingOrigin: string): void {
  // Each field by name, not a loop over an array of them: that was an array and an iterator for every response.
  rewriteField(headers, 'location', serverOrigin, clientFacingOrigin);
  rewriteField(headers, 'content-location', serverOrigin, clientFacingOrigin);
  const refresh = headers.get('refresh');
  if (refresh !== null) {
    const rewritten = rewriteRefresh(refresh, serverOrigin, clientFacingOrigin);
    if (rewritten !== refresh) headers.set('refresh', rewritten);
  }
}

function rewriteField(headers: HeaderMap, name: string, serverOrigin: string, clientFacingOrigin: string): void {
  const value = headers.get(name);
  if (value === null) return;
  const rewritten = rewriteUri(value, serverOrigin, clientFacingOrigin);
  if (rewritten !== value) headers.set(name, rewritten);
}
