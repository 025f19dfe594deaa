/** Header rules for every forwarded request and response, whichever I/O path moves the bytes. */
import { addName, connectionNamed, type HeaderMap, isHopByHop } from './hop-by-hop.ts';
import type { ClientInfo } from '../runtime/contracts.ts';

export interface HeaderRuleOptions {
  readonly trustProxy: boolean;
  readonly preserveHost: boolean;
  /** VIA=off: add no Via header (see README: nginx's `gzip_proxied off` skips compression for any request with Via). Default on. */
  readonly via?: boolean;
}

/** What this hop adds to Via (RFC 9110 §7.6.3): protocol version and a pseudonym, never a host name. */
const VIA = '1.1 fairway';
/** An incoming request id is reused only when it is short, visible ASCII: it ends up in logs and headers. */
const USABLE_REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

export function requestIdFor(headers: HeaderMap): string {
  const incoming = headers.get('x-request-id');
  return incoming !== null && USABLE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** `::ffff:10.0.0.1` is how a dual-stack socket reports an IPv4 peer; X-Forwarded-For carries the IPv4 form. */
export function plainAddress(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * True for the headers that say who the client is or how it connected: `Forwarded` (RFC 7239), `X-Real-IP`
 * and every `X-Forwarded-*`. `_` is read as `-` because CGI, WSGI and PHP map both to the same variable
 * (`HTTP_X_FORWARDED_FOR`), so `X_Forwarded_For` would otherwise spoof `X-Forwarded-For` behind them.
 */
export function isForwardingHeader(name: string): boolean {
  // Most fields start with neither letter: skip the lower-casing for them (this runs on every field of every request).
  const first = name.charCodeAt(0) | 0x20;
  if (first !== 0x78 && first !== 0x66) return false; // x, f
  const normal = name.toLowerCase().replaceAll('_', '-');
  return normal === 'forwarded' || normal === 'x-real-ip' || normal.startsWith('x-forwarded-');
}

/** A request field that must not go upstream (the pass in prepareUpstreamRequestHeaders). */
function dropsUpstream(name: string, named: ReadonlySet<string> | undefined, trustProxy: boolean, preserveHost: boolean): boolean {
  return isHopByHop(name, named) || (isForwardingHeader(name) && (!trustProxy || name.includes('_'))) || name === 'expect' ||
    (name === 'host' && !preserveHost);
}

const appendList = (existing: string | null, value: string): string => (existing ? `${existing}, ${value}` : value);

/**
 * Rewrites, in place, the headers of a request about to go upstream: hop-by-hop headers removed, the
 * X-Forwarded-* family and Via set, the request id attached, and Host left to the upstream client
 * (so it is the server's) unless PRESERVE_HOST keeps the client's.
 */
export function prepareUpstreamRequestHeaders(
  headers: HeaderMap,
  context: { readonly client: ClientInfo; readonly requestId: string },
  options: HeaderRuleOptions,
): void {
  const host = headers.get('host');
  const address = plainAddress(context.client.address);
  const proto = context.client.secure === true ? 'https' : 'http';
  // One pass over the client's fields removes what must not go upstream: hop-by-hop ones (RFC 9110 §7.6.1), its
  // forwarding headers (all without trust, since a client can forge any; with TRUST_PROXY only the `_` spellings,
  // which no proxy writes and which alias the real ones behind CGI), Host unless PRESERVE_HOST (the upstream client
  // then sets the server's), and Expect: the runtime's server has already answered `100-continue` toward the
  // client (RFC 9110 §10.1.1), the body streams upstream as it arrives, and undici refuses to send the header.
  const named = connectionNamed(headers);
  const { trustProxy, preserveHost } = options;
  let doomed: string[] | undefined;
  const names = headers.keys();
  // An array (Node's header objects) by index: `for...of` made an iterator and a result object per field there.
  if (Array.isArray(names)) {
    for (let i = 0; i < names.length; i++) if (dropsUpstream(names[i], named, trustProxy, preserveHost)) doomed = addName(doomed, names[i]);
  } else for (const name of names) if (dropsUpstream(name, named, trustProxy, preserveHost)) doomed = addName(doomed, name);
  if (doomed !== undefined) { for (const name of doomed) headers.delete(name); }
  if (options.trustProxy) {
    // A trusted proxy in front already said who the client is; add the hop we saw.
    if (address !== undefined) headers.set('x-forwarded-for', appendList(headers.get('x-forwarded-for'), address));
    if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', proto);
    if (!headers.has('x-forwarded-host') && host !== null) headers.set('x-forwarded-host', host);
  } else {
    // Anything the client sent is gone (the pass above); only what this hop saw is set.
    if (address !== undefined) headers.set('x-forwarded-for', address);
    headers.set('x-forwarded-proto', proto);
    if (host !== null) headers.set('x-forwarded-host', host);
  }
  if (options.via !== false) headers.set('via', appendList(headers.get('via'), VIA));
  headers.set('x-request-id', context.requestId);
}

/**
 * Rewrites, in place, the headers of an upstream response about to go to the client. When the upstream
 * client has already decoded the body, the encoding and length headers would describe bytes that are
 * not sent, so they go.
 */
export function prepareClientResponseHeaders(
  headers: HeaderMap,
  requestId: string,
  bodyWasDecoded: boolean,
  options: Pick<HeaderRuleOptions, 'via'> = {},
): void {
  // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, and a proxy must remove Content-Length before
  // forwarding such a message. Deno's and Bun's fetch expose both and deliver the decoded chunked body, so
  // the length would otherwise cut it short (undici refuses such a response outright: 502).
  // One pass over the server's fields, as for requests.
  const named = connectionNamed(headers);
  let chunked = false;
  let encoded = false;
  let doomed: string[] | undefined;
  const names = headers.keys();
  // An array (Node's header objects) by index, as above; any other iterable (Headers) as before.
  if (Array.isArray(names)) {
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (name === 'transfer-encoding') chunked = true;
      else if (name === 'content-encoding') encoded = true;
      if (isHopByHop(name, named)) doomed = addName(doomed, name);
    }
  } else {
    for (const name of names) {
      if (name === 'transfer-encoding') chunked = true;
      else if (name === 'content-encoding') encoded = true;
      if (isHopByHop(name, named)) doomed = addName(doomed, name);
    }
  }
  if (doomed !== undefined) { for (const name of doomed) headers.delete(name); }
  if (chunked) headers.delete('content-length');
  if (bodyWasDecoded && encoded) {
    headers.delete('content-encoding');
    headers.delete('content-length');
  }
  if (options.via !== false) headers.set('via', appendList(headers.get('via'), VIA));
  headers.set('x-request-id', requestId);
}
