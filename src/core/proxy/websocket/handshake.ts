/**
 * The opening handshake of an Upgrade (RFC 9110 §7.8) and of a WebSocket (RFC 6455 §4): which requests ask
 * for one, which headers go upstream, and which come back on the 101, for a byte tunnel (Node) and for a
 * message relay (Deno, Bun) alike.
 */
import { prepareClientResponseHeaders, prepareUpstreamRequestHeaders } from '../forwarded-headers.ts';
import type { HeaderMap } from '../hop-by-hop.ts';

/** Comma-separated list members with optional whitespace (RFC 9110 §5.6.1), empty members dropped. */
const listMembers = (value: string | null): string[] => value === null ? [] : value.split(',').map((member) => member.trim()).filter((member) => member !== '');

/**
 * The protocols a request asks to upgrade to (RFC 9110 §7.8): the Upgrade header's value when Connection
 * names "upgrade", else undefined. `h2c` is left out: RFC 9113 §3.1 deprecates upgrading to HTTP/2, and a
 * tunnel would carry that connection's later requests past the balancer.
 */
export function requestedUpgrade(headers: HeaderMap): string | undefined {
  if (!listMembers(headers.get('connection')).some((token) => token.toLowerCase() === 'upgrade')) return undefined;
  const protocols = listMembers(headers.get('upgrade')).filter((protocol) => protocol.toLowerCase() !== 'h2c');
  return protocols.length === 0 ? undefined : protocols.join(', ');
}

/** A WebSocket opening handshake (RFC 6455 §4.2.1): a GET whose upgrade names `websocket`, in any case. */
export function isWebSocketUpgrade(method: string, headers: HeaderMap): boolean {
  const upgrade = requestedUpgrade(headers);
  return method === 'GET' && upgrade !== undefined && listMembers(upgrade).some((protocol) => protocol.toLowerCase() === 'websocket');
}

/**
 * The subprotocols a client offers, in its order (RFC 6455 §4.1, §11.3.4). Both `a,b` and `a, b` are read:
 * the `ws` package sends the first, browsers the second (and Deno's own upgrade parser reads only the second).
 */
export function parseSubprotocols(value: string | null): string[] {
  return listMembers(value);
}

type RequestHeaderRules = Parameters<typeof prepareUpstreamRequestHeaders>;

/**
 * Rewrites, in place, the headers of an upgrade request for a byte tunnel: the same rules as any request
 * (hop-by-hop removed, X-Forwarded-*, Via, request id, Host), then `Connection: upgrade` and the Upgrade
 * header put back, since here they ask the next hop for the same upgrade (RFC 9110 §7.8). Sec-WebSocket-*
 * pass unchanged: the client and the server complete the handshake between themselves.
 */
export function prepareUpgradeRequestHeaders(
  headers: RequestHeaderRules[0],
  context: RequestHeaderRules[1],
  options: RequestHeaderRules[2],
  upgrade: string,
): void {
  prepareUpstreamRequestHeaders(headers, context, options);
  headers.set('connection', 'upgrade');
  headers.set('upgrade', upgrade);
}

/**
 * Rewrites, in place, the headers of a server's 101 for a byte tunnel: the response rules, then Connection and
 * Upgrade put back, and the sticky cookie after the server's own, as on any response.
 */
export function prepareUpgradeResponseHeaders(headers: HeaderMap, requestId: string, setCookie?: string): void {
  const upgrade = headers.get('upgrade');
  prepareClientResponseHeaders(headers, requestId, false);
  headers.set('connection', 'upgrade');
  if (upgrade !== null) headers.set('upgrade', upgrade);
  if (setCookie !== undefined) headers.append('set-cookie', setCookie);
}

/**
 * Headers a relay's own WebSocket client makes itself, per hop: the key and version, the upgrade, the
 * extensions it supports (each hop negotiates compression separately) and the subprotocols, which go to
 * the client as its `protocols` argument instead.
 */
const MADE_BY_WEBSOCKET_CLIENT = [
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'sec-websocket-accept',
  'upgrade',
  'connection',
  'host',
  'content-length',
] as const;

export interface RelayClientOptions {
  /** The subprotocols the client offered, for the relay's WebSocket client to offer the server in turn. */
  readonly protocols: string[];
  /** Every other header, after the header rules, for the relay's WebSocket client to send. */
  readonly headers: Record<string, string>;
}

/**
 * What a message relay's WebSocket client sends the server, from a handshake's headers already rewritten
 * by the request rules (`prepareUpstreamRequestHeaders`).
 */
export function relayClientOptions(preparedHeaders: Headers, offeredProtocols: readonly string[]): RelayClientOptions {
  const headers: Record<string, string> = {};
  for (const [name, value] of preparedHeaders) {
    if (!(MADE_BY_WEBSOCKET_CLIENT as readonly string[]).includes(name)) headers[name] = value;
  }
  return { protocols: [...offeredProtocols], headers };
}

export type RelayAccept = { readonly ok: true; readonly headers: Headers } | { readonly ok: false; readonly reason: string };

/**
 * The headers a relay puts on its own 101 to the client once the server has accepted: the subprotocol the
 * server chose, Via, the request id and the sticky cookie (`setCookie`, when the pick set one). The server's other 101 headers are not visible through a WebSocket
 * client, so they cannot be passed on. A subprotocol the client never offered would make the client fail the
 * connection (RFC 6455 §4.1), so that handshake is refused here instead, with a reason for the 502.
 */
export function relayAcceptHeaders(chosenProtocol: string, offeredProtocols: readonly string[], requestId: string, setCookie?: string): RelayAccept {
  const headers = new Headers();
  if (chosenProtocol !== '') {
    if (!offeredProtocols.includes(chosenProtocol)) {
      return { ok: false, reason: `the server chose WebSocket subprotocol ${JSON.stringify(chosenProtocol)}, which the client did not offer` };
    }
    headers.set('sec-websocket-protocol', chosenProtocol);
  }
  prepareClientResponseHeaders(headers, requestId, false);
  if (setCookie !== undefined) headers.append('set-cookie', setCookie);
  return { ok: true, headers };
}

/** The relay's WebSocket URL for a server: its origin with ws: or wss: for http: or https:, plus the request's own path and query. */
export function webSocketUrl(origin: string, target: string): string {
  return `${origin.replace(/^http/, 'ws')}${target}`;
}

/**
 * How Deno's ("tcp connect error") and Bun's (`ECONNREFUSED`, the error's code, see bun/websocket-relay.ts)
 * WebSocket clients say the TCP connection to the server failed: nothing reached the server.
 */
const CONNECT_FAILED = /tcp connect error|ECONNREFUSED/i;

/**
 * Deno's and Bun's WebSocket clients report a refused handshake only as an error message ("Invalid status
 * code: 403", "Expected 101 status code: 403"): no headers, no body. This reads the status from it where
 * present, for the 502's reason and the log. A connection that failed is named as refused, in words the
 * lifecycle's classification reads (classify-attempt.ts), so the handshake is retried like any request.
 */
export function describeRefusedHandshake(message: string): { readonly status: number | undefined; readonly reason: string } {
  const match = /status code:?\s*(\d{3})\b/i.exec(message);
  const status = match === null ? undefined : Number(match[1]);
  if (status === undefined && CONNECT_FAILED.test(message)) return { status, reason: `the server could not be reached: connection refused (${message})` };
  const reason = status === undefined
    ? `the server did not accept the WebSocket handshake (${message})`
    : `the server refused the WebSocket handshake with status ${status}; this runtime's WebSocket client does not expose the server's response`;
  return { status, reason };
}
