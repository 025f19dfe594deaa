/** Header rules for every forwarded request and response, whichever I/O path moves the bytes. */
import { stripHopByHop, type HeaderMap } from './hop-by-hop.ts';
import type { ClientInfo } from '../runtime/contracts.ts';

export interface HeaderRuleOptions {
  readonly trustProxy: boolean;
  readonly preserveHost: boolean;
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
function plainAddress(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
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
  if (options.trustProxy) {
    // A trusted proxy in front already said who the client is; add the hop we saw.
    if (address !== undefined) headers.set('x-forwarded-for', appendList(headers.get('x-forwarded-for'), address));
    if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', 'http');
    if (!headers.has('x-forwarded-host') && host !== null) headers.set('x-forwarded-host', host);
  } else {
    // Anything the client sent here could be forged, so it is replaced, never appended to.
    headers.delete('forwarded');
    if (address !== undefined) headers.set('x-forwarded-for', address);
    else headers.delete('x-forwarded-for');
    headers.set('x-forwarded-proto', 'http');
    if (host !== null) headers.set('x-forwarded-host', host);
    else headers.delete('x-forwarded-host');
  }
  headers.set('via', appendList(headers.get('via'), VIA));
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
export function prepareClientResponseHeaders(headers: HeaderMap, requestId: string, bodyWasDecoded: boolean): void {
  stripHopByHop(headers);
  if (bodyWasDecoded && headers.has('content-encoding')) {
    headers.delete('content-encoding');
    headers.delete('content-length');
  }
  headers.set('via', appendList(headers.get('via'), VIA));
  headers.set('x-request-id', requestId);
}
