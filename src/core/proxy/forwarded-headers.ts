/** Header rules for every forwarded request and response, whichever I/O path moves the bytes. */
import { stripHopByHop, type HeaderMap } from './hop-by-hop.ts';
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
  const normal = name.toLowerCase().replaceAll('_', '-');
  return normal === 'forwarded' || normal === 'x-real-ip' || normal.startsWith('x-forwarded-');
}

/**
 * Removes the client's forwarding headers. Without trust, all of them: a client can forge any. With
 * TRUST_PROXY, only the spellings with `_`, which no proxy writes and which alias the real ones behind CGI.
 */
function removeForwardingHeaders(headers: HeaderMap, trustProxy: boolean): void {
  for (const name of [...headers.keys()]) {
    if (isForwardingHeader(name) && (!trustProxy || name.includes('_'))) headers.delete(name);
  }
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
  stripHopByHop(headers);
  const host = headers.get('host');
  const address = plainAddress(context.client.address);
  const proto = context.client.secure === true ? 'https' : 'http';
  removeForwardingHeaders(headers, options.trustProxy);
  if (options.trustProxy) {
    // A trusted proxy in front already said who the client is; add the hop we saw.
    if (address !== undefined) headers.set('x-forwarded-for', appendList(headers.get('x-forwarded-for'), address));
    if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', proto);
    if (!headers.has('x-forwarded-host') && host !== null) headers.set('x-forwarded-host', host);
  } else {
    // Anything the client sent is gone (removeForwardingHeaders); only what this hop saw is set.
    if (address !== undefined) headers.set('x-forwarded-for', address);
    headers.set('x-forwarded-proto', proto);
    if (host !== null) headers.set('x-forwarded-host', host);
  }
  if (options.via !== false) headers.set('via', appendList(headers.get('via'), VIA));
  headers.set('x-request-id', context.requestId);
  if (!options.preserveHost) headers.delete('host');
  // The runtime's server has already answered `Expect: 100-continue` toward the client (RFC 9110 §10.1.1),
  // and the body is streamed upstream as it arrives; undici refuses to send the header at all.
  headers.delete('expect');
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
  if (headers.has('transfer-encoding')) headers.delete('content-length');
  stripHopByHop(headers);
  if (bodyWasDecoded && headers.has('content-encoding')) {
    headers.delete('content-encoding');
    headers.delete('content-length');
  }
  if (options.via !== false) headers.set('via', appendList(headers.get('via'), VIA));
  headers.set('x-request-id', requestId);
}
