/**
 * The part of Deno's and Bun's WebSocket path that is the same on both: admission, the 502 for a handshake the
 * server refused or could not be reached for, and the tunnel's place in the lifecycle once the relay runs.
 */
import type { Balancer } from '../../core/balancer.ts';
import { errorResponse } from '../../core/proxy/json-error.ts';
import { requestTarget } from '../../core/proxy/request-target.ts';
import { isWebSocketUpgrade, webSocketUrl } from '../../core/proxy/websocket/handshake.ts';
import type { RelayEnd, WebSocketRelay } from '../../core/proxy/websocket/relay.ts';
import { logger } from '../../core/logging.ts';
import { admitUpgrade, handshakeRefused, tunnelOpened } from '../../core/proxy/websocket/upgrade-exchange.ts';
import type { Exchange } from '../../core/proxy/exchange.ts';
import type { ClientInfo } from '../../core/runtime/contracts.ts';

/** True for a request the relay takes: a WebSocket handshake outside /lb/. Other upgrades are forwarded as plain requests. */
export function isRelayedWebSocket(request: Request): boolean {
  return request.headers.has('upgrade') && isWebSocketUpgrade(request.method, request.headers) && !requestTarget(request.url).startsWith('/lb/');
}

/** What a runtime's relay start reports, in the shape both share. */
export type RelayStart =
  | { readonly ok: true; readonly relay: WebSocketRelay; readonly response: Response | undefined }
  | { readonly ok: false; readonly kind: string; readonly reason: string };

export interface RelayContext {
  readonly exchange: Exchange;
  /** The server's WebSocket URL: its origin, ws: or wss:, plus the request's own path and query. */
  readonly url: string;
  /** The handshake's headers after the header rules, for the relay's own WebSocket client. */
  readonly headers: Headers;
  /** Call once the relay has ended (both sides closed). */
  readonly onEnd: (end: RelayEnd) => void;
}

/**
 * Admits a WebSocket handshake and runs `start` (the runtime's relay) for it. Returns the response for the
 * client: the runtime's 101 (`undefined` on Bun, which answers itself), or an error answer.
 */
export async function relayWebSocket(
  balancer: Balancer,
  request: Request,
  client: ClientInfo,
  start: (context: RelayContext) => Promise<RelayStart>,
): Promise<Response | undefined> {
  const headers = new Headers(request.headers);
  const admitted = await admitUpgrade(balancer.admission, { method: request.method, target: requestTarget(request.url), headers, client }, balancer.tunnels);
  if (admitted === undefined) return balancer.fetch(request, client);
  if (!admitted.ok) return errorResponse(admitted.answer);
  const exchange = admitted.exchange;
  let ended: (() => void) | undefined;
  let endedEarly = false;
  const onEnd = (end: RelayEnd): void => {
    // The relay's own decisions (a limit, shutdown) are logged; a side closing is the normal end.
    if (end.cause !== 'closed') {
      logger('proxy').info('WebSocket tunnel to {server} closed by the proxy: {cause}', {
        event: 'websocket_closed',
        cause: end.cause,
        code: end.code,
        server: exchange.server.url,
        requestId: exchange.requestId,
      });
    }
    if (ended === undefined) endedEarly = true;
    else ended();
  };
  // A handshake is a GET: it may be retried on another server before the 101, under the lifecycle's rules.
  for (;;) {
    const started = await start({ exchange, url: webSocketUrl(exchange.server.url, exchange.target), headers, onEnd });
    if (started.ok) {
      ended = tunnelOpened(exchange, balancer.tunnels, () => started.relay.shutdown());
      if (endedEarly) ended();
      return started.response;
    }
    if (started.kind === 'refused') {
      const answer = handshakeRefused(exchange, started.reason);
      return answer === undefined ? new Response(null, { status: 499 }) : errorResponse(answer);
    }
    const action = exchange.failed(new Error(started.reason));
    if (action.do === 'retry') continue;
    return action.do === 'answer' ? errorResponse(action.answer) : new Response(null, { status: 499 });
  }
}
