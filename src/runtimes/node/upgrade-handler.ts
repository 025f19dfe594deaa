/**
 * Node's `upgrade` event as an Exchange: the request is admitted like any other (server pick, header rules,
 * request id), then `openUpgradeTunnel` moves the bytes, and the Exchange holds its lease until both sockets
 * have closed. A request asking for no upgrade Fairway forwards (h2c) is served as a plain request.
 */
import { type IncomingMessage, type RequestListener, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Balancer } from '../../core/balancer.ts';
import { type ErrorAnswer, errorBody, errorHeaders } from '../../core/proxy/json-error.ts';
import { isAdminTarget, targetFromRequestLine } from '../../core/proxy/request-target.ts';
import { logger } from '../../core/logging.ts';
import { CLOSE } from '../../core/proxy/websocket/close-codes.ts';
import { type AdmittedUpgrade, admitUpgrade, refusalPassedOn, tunnelOpened } from '../../core/proxy/websocket/upgrade-exchange.ts';
import { type HeaderObject, NodeHeaders } from './node-headers.ts';
import { openUpgradeTunnel, responseHead, type UpstreamTlsOptions } from './upgrade-tunnel.ts';

/** How long each side of a WebSocket gets to answer the proxy's close frame at shutdown before its socket is destroyed. */
const CLOSE_GRACE_MS = 2_000;

/** A whole error response written straight to the socket (no ServerResponse exists for an upgrade), then the connection ends. */
function writeAnswer(socket: Duplex, answer: ErrorAnswer): void {
  if (socket.destroyed) return;
  const body = errorBody(answer);
  const headers = { ...errorHeaders(answer), 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
  socket.end(responseHead(answer.status, '', headers) + body);
}

export function createUpgradeHandler(
  balancer: Balancer,
  plainRequest: RequestListener,
  tls: () => UpstreamTlsOptions,
  /** WEBSOCKET_IDLE_TIMEOUT_MS (0: no limit). */
  idleTimeoutMs: () => number,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    const headers = new NodeHeaders(req.headers as HeaderObject);
    const target = targetFromRequestLine(req.url ?? '/');
    const secure = (req.socket as TLSSocket).encrypted === true;
    const admitted = target === undefined || isAdminTarget(target) ? undefined : admitUpgrade(
      balancer.admission,
      { method: req.method ?? 'GET', target, headers, client: { address: req.socket.remoteAddress, secure } },
      balancer.tunnels,
    );
    if (admitted === undefined) {
      // Not an upgrade Fairway forwards (h2c, an /lb/ path): answered as a plain request on this connection, which then closes.
      const res = new ServerResponse(req);
      res.shouldKeepAlive = false;
      res.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
      res.once('finish', () => socket.end());
      plainRequest(req, res);
      return;
    }
    if (admitted instanceof Promise) void admitted.then(proceed);
    else proceed(admitted);

    function proceed(admitted: AdmittedUpgrade): void {
      if (!admitted.ok) {
        writeAnswer(socket, admitted.answer);
        return;
      }
      const exchange = admitted.exchange;
      const clientGone = () => exchange.clientGone();
      socket.once('close', clientGone);
      socket.on('error', () => {});
      // A handshake is a GET: it may be retried on another server before the 101, under the lifecycle's rules.
      const attempt = (): void => {
        void openUpgradeTunnel(socket, head, {
          origin: exchange.server.url,
          target: exchange.target,
          headers: headers.object,
          requestId: exchange.requestId,
          signal: exchange.signal,
          tls: tls(),
          // Read per try: a retry on another server drops the cookie naming the failed one.
          ...(exchange.setCookie !== undefined ? { setCookie: exchange.setCookie } : {}),
          idle: {
            ms: idleTimeoutMs(),
            graceMs: CLOSE_GRACE_MS,
            // Logged as the relays log their own closes (websocket-exchange.ts).
            onIdle: () =>
              logger('proxy').info('WebSocket tunnel to {server} closed by the proxy: {cause}', {
                event: 'websocket_closed',
                cause: 'idle',
                code: CLOSE.goingAway,
                server: exchange.server.url,
                requestId: exchange.requestId,
              }),
          },
        }).then((outcome) => {
          if (outcome.kind === 'failed') {
            const action = exchange.failed(outcome.error);
            if (action.do === 'retry') return attempt();
            socket.off('close', clientGone);
            if (action.do === 'answer') writeAnswer(socket, action.answer);
            else socket.destroy();
            return;
          }
          socket.off('close', clientGone);
          const ended = outcome.kind === 'upgraded'
            ? tunnelOpened(exchange, balancer.tunnels, () => outcome.close(CLOSE.goingAway, 'proxy shutting down', CLOSE_GRACE_MS))
            : refusalPassedOn(exchange, outcome.status);
          void outcome.closed.then(ended);
        });
      };
      attempt();
    }
  };
}
