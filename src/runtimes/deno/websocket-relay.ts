/**
 * Deno's WebSocket path: a message relay. The server's WebSocket is opened first, so a refused or failed
 * handshake becomes a 502 and the server's chosen subprotocol can go on the client's 101; only then is the
 * client's request upgraded with Deno.upgradeWebSocket, and the core's relay moves messages between the two.
 */
import { describeRefusedHandshake, parseSubprotocols, relayAcceptHeaders, relayClientOptions } from '../../core/proxy/websocket/handshake.ts';
import { type RelayEnd, type RelayLimits, type RelayMessage, WebSocketRelay } from '../../core/proxy/websocket/relay.ts';

export interface DenoRelayRequest {
  /** The client's upgrade request, as Deno.serve handed it over. */
  readonly request: Request;
  /** The server's WebSocket URL (`webSocketUrl`). */
  readonly url: string;
  /** The handshake's headers, already rewritten by `prepareUpgradeRequestHeaders`. */
  readonly headers: Headers;
  readonly requestId: string;
  /** The sticky cookie for the 101, when the pick set one (STICKY_COOKIE). */
  readonly setCookie?: string;
  readonly limits: RelayLimits;
  /** Aborting it before the server accepts gives up (UPSTREAM_TIMEOUT_MS, client gone). */
  readonly signal: AbortSignal;
  /** The HTTP client with UPSTREAM_CA_FILE's certificates; Deno's WebSocket takes it as `client`. */
  readonly httpClient?: Deno.HttpClient;
  readonly onEnd: (end: RelayEnd) => void;
}

export type DenoRelayStart =
  | { readonly ok: true; readonly response: Response; readonly relay: WebSocketRelay }
  | { readonly ok: false; readonly kind: 'refused' | 'unreachable' | 'aborted'; readonly status: number | undefined; readonly reason: string };

/** Deno's WebSocket constructor also takes an options object (headers, protocols, client), beyond the Web standard's. */
type DenoWebSocketOptions = { protocols?: string[]; headers?: Record<string, string>; client?: Deno.HttpClient };
type DenoWebSocketConstructor = new (url: string, options: DenoWebSocketOptions) => WebSocket;

function opened(socket: WebSocket, signal: AbortSignal): Promise<{ ok: true } | { ok: false; aborted: boolean; message: string }> {
  return new Promise((resolve) => {
    const onAbort = () => {
      socket.close();
      resolve({ ok: false, aborted: true, message: 'aborted' });
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.onopen = () => {
      signal.removeEventListener('abort', onAbort);
      resolve({ ok: true });
    };
    socket.onerror = (event) => {
      signal.removeEventListener('abort', onAbort);
      resolve({ ok: false, aborted: false, message: (event as ErrorEvent).message ?? 'WebSocket error' });
    };
  });
}

export async function startDenoRelay(options: DenoRelayRequest): Promise<DenoRelayStart> {
  const offered = parseSubprotocols(options.request.headers.get('sec-websocket-protocol'));
  const { protocols, headers } = relayClientOptions(options.headers, offered);
  const upstream = new (WebSocket as unknown as DenoWebSocketConstructor)(options.url, {
    protocols,
    headers,
    ...(options.httpClient ? { client: options.httpClient } : {}),
  });
  upstream.binaryType = 'arraybuffer';
  // Messages the server sends as soon as it accepts arrive before the relay exists; they wait here.
  const early: RelayMessage[] = [];
  upstream.onmessage = (event) => early.push(event.data);

  const open = await opened(upstream, options.signal);
  if (!open.ok) {
    if (open.aborted) return { ok: false, kind: 'aborted', status: undefined, reason: 'the WebSocket handshake was abandoned' };
    const refused = describeRefusedHandshake(open.message);
    return { ok: false, kind: refused.status === undefined ? 'unreachable' : 'refused', status: refused.status, reason: refused.reason };
  }
  const accept = relayAcceptHeaders(upstream.protocol, offered, options.requestId, options.setCookie);
  if (!accept.ok) {
    upstream.close();
    return { ok: false, kind: 'refused', status: undefined, reason: accept.reason };
  }

  // No `protocol` option: Deno.upgradeWebSocket splits the offer on ", " only and throws for the `ws` package's
  // "a,b". The header is set on the 101 directly, which Deno allows, as it does Via and the request id.
  const { socket, response } = Deno.upgradeWebSocket(options.request);
  for (const [name, value] of accept.headers) response.headers.set(name, value);
  socket.binaryType = 'arraybuffer';

  const relay = new WebSocketRelay({
    client: {
      send: (message) => (socket.send(message as string | ArrayBufferLike | Blob | ArrayBufferView), 'sent'),
      bufferedAmount: () => socket.bufferedAmount,
      close: (code, reason) => socket.close(code, reason),
      // Deno's server socket takes every code a close frame may carry.
      closeCodes: 'rfc6455',
    },
    server: {
      send: (message) => (upstream.send(message as string | ArrayBufferLike | Blob | ArrayBufferView), 'sent'),
      bufferedAmount: () => upstream.bufferedAmount,
      close: (code, reason) => upstream.close(code, reason),
      // Deno's WebSocket client follows WHATWG close(): only 1000 and 3000-4999.
      closeCodes: 'whatwg',
    },
    limits: options.limits,
    clientOpen: false,
    onEnd: options.onEnd,
  });
  for (const message of early) relay.message('server', message);
  upstream.onmessage = (event) => relay.message('server', event.data);
  upstream.onclose = (event) => relay.closed('server', event.code, event.reason);
  upstream.onerror = () => {};
  socket.onopen = () => relay.clientOpened();
  socket.onmessage = (event) => relay.message('client', event.data);
  socket.onclose = (event) => relay.closed('client', event.code, event.reason);
  socket.onerror = () => {};
  return { ok: true, response, relay };
}
