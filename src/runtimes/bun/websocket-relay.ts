/**
 * Bun's WebSocket path: a message relay. The server's WebSocket is opened first, so a refused or failed
 * handshake becomes a 502 and the server's chosen subprotocol goes on the client's 101; then `server.upgrade`
 * accepts the client, and Bun.serve's `websocket` handlers feed the core's relay.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from 'bun';
import { describeRefusedHandshake, parseSubprotocols, relayAcceptHeaders, relayClientOptions } from '../../core/proxy/websocket/handshake.ts';
import { type RelayEnd, type RelayLimits, type RelayMessage, type SendOutcome, WebSocketRelay } from '../../core/proxy/websocket/relay.ts';

/** What each client socket carries (`ws.data`): its relay, and a close asked for before the socket opened. */
export interface BunRelayData {
  relay: WebSocketRelay;
  socket: ServerWebSocket<BunRelayData> | undefined;
  closeBeforeOpen: { code: number | undefined; reason: string | undefined } | undefined;
}

export interface BunRelayRequest {
  readonly request: Request;
  readonly server: Server<BunRelayData>;
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
  /** UPSTREAM_CA_FILE and UPSTREAM_TLS_INSECURE, as Bun's WebSocket client takes them. */
  readonly tls?: { ca?: string[]; rejectUnauthorized: boolean };
  readonly onEnd: (end: RelayEnd) => void;
}

export type BunRelayStart =
  | { readonly ok: true; readonly relay: WebSocketRelay }
  | {
    readonly ok: false;
    readonly kind: 'refused' | 'unreachable' | 'aborted' | 'not_upgradable';
    readonly status: number | undefined;
    readonly reason: string;
  };

/** Bun's WebSocket constructor also takes an options object (headers, protocols, tls), beyond the Web standard's. */
type BunWebSocketOptions = { protocols?: string[]; headers?: Record<string, string>; tls?: { ca?: string[]; rejectUnauthorized: boolean } };
type BunWebSocketConstructor = new (url: string, options: BunWebSocketOptions) => WebSocket;

function opened(socket: WebSocket, signal: AbortSignal): Promise<{ ok: true } | { ok: false; aborted: boolean; message: string }> {
  return new Promise((resolve) => {
    const onAbort = () => {
      socket.close();
      resolve({ ok: false, aborted: true, message: 'aborted' });
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const fail = (message: string) => {
      signal.removeEventListener('abort', onAbort);
      resolve({ ok: false, aborted: false, message });
    };
    socket.onopen = () => {
      signal.removeEventListener('abort', onAbort);
      resolve({ ok: true });
    };
    // The message says only "Failed to connect"; the error's code says why (ECONNREFUSED).
    socket.onerror = (event) => {
      const { message, error } = event as ErrorEvent;
      const code = (error as { code?: unknown } | undefined)?.code;
      fail(`${message ?? 'WebSocket error'}${typeof code === 'string' ? ` (${code})` : ''}`);
    };
    socket.onclose = (event) => fail(`closed during the handshake (${event.code} ${event.reason})`);
  });
}

/** Bun's `send`: a positive byte count when written, −1 when queued past the backpressure threshold, 0 when dropped. */
const sendOutcome = (result: number): SendOutcome => (result === 0 ? 'dropped' : result < 0 ? 'backpressure' : 'sent');

/**
 * Opens the server's WebSocket, then upgrades the client's request. On success the caller's fetch handler
 * returns `undefined` (Bun has answered with the 101); otherwise it answers with the 502 the reason describes.
 */
export async function startBunRelay(options: BunRelayRequest): Promise<BunRelayStart> {
  const offered = parseSubprotocols(options.request.headers.get('sec-websocket-protocol'));
  const { protocols, headers } = relayClientOptions(options.headers, offered);
  const upstream = new (WebSocket as unknown as BunWebSocketConstructor)(options.url, {
    protocols,
    headers,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  upstream.binaryType = 'arraybuffer';
  const early: RelayMessage[] = [];
  upstream.onmessage = (event) => early.push(event.data as RelayMessage);

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

  const data = { socket: undefined, closeBeforeOpen: undefined } as unknown as BunRelayData;
  data.relay = new WebSocketRelay({
    client: {
      send: (message) => (data.socket ? sendOutcome(data.socket.send(message as Parameters<ServerWebSocket['send']>[0])) : 'dropped'),
      bufferedAmount: () => data.socket?.getBufferedAmount() ?? 0,
      close: (code, reason) => {
        if (data.socket) data.socket.close(code, reason);
        else data.closeBeforeOpen = { code, reason };
      },
      terminate: () => data.socket?.terminate(),
      closeCodes: 'rfc6455',
    },
    server: {
      send: (message) => (upstream.send(message as Parameters<WebSocket['send']>[0]), 'sent'),
      bufferedAmount: () => upstream.bufferedAmount,
      close: (code, reason) => upstream.close(code, reason),
      // Bun's WebSocket client accepts every code a close frame may carry, 1001 and 1011 included.
      closeCodes: 'rfc6455',
    },
    limits: options.limits,
    clientOpen: false,
    onEnd: options.onEnd,
  });
  for (const message of early) data.relay.message('server', message);
  upstream.onmessage = (event) => data.relay.message('server', event.data as RelayMessage);
  upstream.onclose = (event) => data.relay.closed('server', event.code, event.reason);
  upstream.onerror = () => {};

  const responseHeaders: Record<string, string> = {};
  for (const [name, value] of accept.headers) responseHeaders[name] = value;
  if (!options.server.upgrade(options.request, { data, headers: responseHeaders })) {
    upstream.close();
    return { ok: false, kind: 'not_upgradable', status: undefined, reason: 'Bun could not upgrade the client connection' };
  }
  return { ok: true, relay: data.relay };
}

/**
 * Bun.serve's `websocket` option. `maxPayloadLength` is MAX_WEBSOCKET_MESSAGE_BYTES, so Bun refuses a larger
 * message from the client itself (1009) before reading it whole; Bun's own default would be 16 MiB.
 * `backpressureLimit` (where `send` starts returning −1) is WEBSOCKET_MAX_BUFFERED_BYTES, Bun taking at most
 * 2^31−1 there; the relay closes with 1008 past it.
 */
export function bunRelayHandlers(limits: RelayLimits): WebSocketHandler<BunRelayData> {
  return {
    maxPayloadLength: limits.maxMessageBytes,
    backpressureLimit: Math.min(limits.maxBufferedBytes, 2 ** 31 - 1),
    closeOnBackpressureLimit: false,
    // Each hop negotiates compression for itself.
    perMessageDeflate: true,
    open(ws) {
      ws.data.socket = ws;
      const early = ws.data.closeBeforeOpen;
      if (early !== undefined) ws.close(early.code, early.reason);
      else ws.data.relay.clientOpened();
    },
    message(ws, message) {
      ws.data.relay.message('client', message as RelayMessage);
    },
    close(ws, code, reason) {
      ws.data.relay.closed('client', code, reason);
    },
    // Nothing to resume: a relay cannot pause its reading; the buffer check in the relay bounds memory.
    drain() {},
  };
}
