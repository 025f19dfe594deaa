/**
 * Bun's balancer listener: the core's fetch handler, WebSocket handshakes through `server.upgrade` and the
 * message relay, HTTPS with TLS_CERT_FILE (HTTP/1.1 only: Bun.serve offers no ALPN h2), and SIGHUP reload by
 * a listener swap, since `server.reload({ tls })` keeps the old certificate.
 */
import type { Balancer } from '../../core/balancer.ts';
import type { ListeningServer, ServeOptions } from '../../core/runtime/contracts.ts';
import { swappableListener } from '../shared/listener-swap.ts';
import type { ProtocolFiles } from '../shared/protocol-files.ts';
import { isRelayedWebSocket, relayWebSocket } from '../shared/websocket-exchange.ts';
import { bunServeBase } from './serve.ts';
import { asksToClose, sayingClose } from './connection-close.ts';
import { type BunRelayData, bunRelayHandlers, startBunRelay } from './websocket-relay.ts';

export function serveBunBalancer(balancer: Balancer, options: ServeOptions, protocols: ProtocolFiles): Promise<ListeningServer> {
  const limits = protocols.relayLimits;
  const websocket = bunRelayHandlers(limits);
  return swappableListener(
    (tls, port) => {
      const listen = { ...options, port, reusePort: options.reusePort === true || tls !== undefined, ...(tls ? { tls } : {}) };
      const server = Bun.serve<BunRelayData>({
        ...bunServeBase(listen),
        websocket,
        // Not async: a plain request's promise (or Response) goes back to Bun as the core made it, with no extra
        // promise and await per request.
        fetch: (request, server) => {
          const client = { address: server.requestIP(request)?.address, secure: tls !== undefined };
          if (!isRelayedWebSocket(request)) {
            const response = balancer.fetch(request, client);
            if (!asksToClose(request)) return response;
            return response instanceof Response ? sayingClose(response) : response.then(sayingClose);
          }
          // undefined: Bun has answered with the 101 itself.
          return relayWebSocket(balancer, request, client, async ({ exchange, url, headers, onEnd }) => {
            const upstream = protocols.upstream;
            const started = await startBunRelay({
              request,
              server,
              url,
              headers,
              requestId: exchange.requestId,
              ...(exchange.setCookie !== undefined ? { setCookie: exchange.setCookie } : {}),
              limits,
              signal: exchange.signal,
              tls: { ...(upstream.ca ? { ca: upstream.ca } : {}), rejectUnauthorized: upstream.rejectUnauthorized },
              onEnd,
            });
            return started.ok ? { ok: true, relay: started.relay, response: undefined } : started;
          });
        },
      });
      return Promise.resolve({ port: server.port as number, close: () => server.stop() });
    },
    protocols,
    options.port,
  );
}
