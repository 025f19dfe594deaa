/** Where a request goes upstream: always the selected server's origin plus the request's own path and query. */

/** Index of the path in an absolute URL string (`scheme://authority/path?query`). */
function pathStart(url: string): number {
  const authority = url.indexOf('//') + 2;
  const slash = url.indexOf('/', authority);
  return slash === -1 ? url.length : slash;
}

/**
 * The path and query of a request URL, exactly as the runtime recorded them. Taking only these, never the
 * request's authority, is what keeps an absolute-form target (`GET http://elsewhere/`) from making this an open proxy.
 */
export function pathAndQuery(url: string): string {
  const start = pathStart(url);
  if (start === url.length) return '/';
  const hash = url.indexOf('#', start);
  return hash === -1 ? url.slice(start) : url.slice(start, hash);
}

export function upstreamUrl(origin: string, requestUrl: string): string {
  return origin + pathAndQuery(requestUrl);
}

/** True for `/lb` and everything below `/lb/`: the balancer's own endpoints, never proxied. */
export function isAdminPath(url: string): boolean {
  const start = pathStart(url);
  if (!url.startsWith('/lb', start)) return false;
  const next = url.charCodeAt(start + 3);
  // End of string, '/', '?' or '#'.
  return Number.isNaN(next) || next === 47 || next === 63 || next === 35;
}
