/** Where a request goes upstream: always the selected server's origin plus the request's own path and query. */

/** Index of the path in an absolute URL string (`scheme://authority/path?query`). */
function pathStart(url: string): number {
  const authority = url.indexOf('//') + 2;
  const slash = url.indexOf('/', authority);
  return slash === -1 ? url.length : slash;
}

/** A `.` or `..` segment, also percent-encoded (`%2e`), in the path part only. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|\?|#|$)/i;

/**
 * The path and query of a request URL, taken from the runtime's URL without its authority: that is what
 * keeps an absolute-form target (`GET http://elsewhere/`) from making this an open proxy. Everything else
 * passes byte for byte (`%2F`, `%20`, `//`), except dot segments: runtimes differ on whether they resolve
 * them, so they are resolved here, the same everywhere (RFC 3986 §5.2.4), never above the root.
 */
export function requestTarget(url: string): string {
  const start = pathStart(url);
  if (start === url.length) return '/';
  const hash = url.indexOf('#', start);
  const target = hash === -1 ? url.slice(start) : url.slice(start, hash);
  const query = target.indexOf('?');
  if (!DOT_SEGMENT.test(query === -1 ? target : target.slice(0, query))) return target;
  // A fixed base keeps `//host/...` a path here: the string is parsed as one absolute URL, not against a base.
  const resolved = new URL(`http://fairway.invalid${target}`);
  return resolved.pathname + resolved.search;
}

/** Characters a WHATWG URL parser percent-encodes or rewrites in a path or query; Deno and Bun apply it to every request. */
const REWRITTEN_BY_URL_PARSER = /[^\x21-\x7e]|["'<>`{}\\]/;

/**
 * The same target as `requestTarget`, from a raw request line (`req.url` on node:http) instead of a URL
 * a runtime already parsed. Undefined for forms that name no path: `*` and CONNECT's authority-form.
 */
export function targetFromRequestLine(raw: string): string | undefined {
  let target: string;
  if (raw.charCodeAt(0) === 47) {
    target = raw;
  } else {
    // Absolute-form (RFC 9112 §3.2.2): only the path and query are kept, so it cannot name another host.
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw);
    if (scheme === null) return undefined;
    const rest = raw.slice(scheme[0].length);
    const end = rest.search(/[/?#]/);
    target = end === -1 ? '/' : rest[end] === '/' ? rest.slice(end) : `/${rest.slice(end)}`;
  }
  // Matching what a URL parser does everywhere else keeps every runtime sending the same bytes upstream.
  if (REWRITTEN_BY_URL_PARSER.test(target)) return requestTarget(new URL(`http://fairway.invalid${target}`).href);
  return requestTarget(`http://fairway.invalid${target}`);
}

/**
 * The one place the rule "the selected server's origin plus the request's own path and query, byte for byte"
 * is written. A plain concatenation on purpose: `origin` is validated as an origin only (config.ts) and `target`
 * always starts with "/" (the functions above), so no URL parser may rewrite either side (`//`, `%2F`, `..`).
 */
export function upstreamUrl(origin: string, target: string): string {
  return origin + target;
}

/** True for `/lb` and everything below `/lb/`: the balancer's own endpoints, never proxied. */
export function isAdminTarget(target: string): boolean {
  if (!target.startsWith('/lb')) return false;
  const next = target.charCodeAt(3);
  // End of string, '/' or '?'.
  return Number.isNaN(next) || next === 47 || next === 63;
}
