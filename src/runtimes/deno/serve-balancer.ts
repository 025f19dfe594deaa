/**
 * Deno's balancer listener: the core's fetch handler, WebSocket handshakes through the message relay, HTTPS
 * with TLS_CERT_FILE (h2 and HTTP/1.1 by ALPN), and SIGHUP reload by a listener swap.
 */
import type { Balancer } from '../../core/balancer.ts';
import type { RelayLimits } from '../../core/proxy/websocket/relay.ts';
import type { ListeningServer, ServeOptions } from '../../core/runtime/contracts.ts';
import { swappableListener } from '../shared/listener-swap.ts';
import type { ProtocolFiles } from '../shared/protocol-files.ts';
import { isRelayedWebSocket, relayWebSocket } from '../shared/websocket-exchange.ts';
import { serveDeno } from './serve.ts';
import { startDenoRelay } from './websocket-relay.ts';

export function serveDenoBalancer(
  balancer: Balancer,
  options: ServeOptions,
  protocols: ProtocolFiles,
  limits: RelayLimits,
  httpClient: () => Deno.HttpClient | undefined,
): Promise<ListeningServer> {
  const handler = async (request: Request, client: Parameters<Balancer['fetch']>[1]): Promise<Response> => {
    if (!isRelayedWebSocket(request)) return balancer.fetch(request, client);
    const response = await relayWebSocket(balancer, request, client, async ({ exchange, url, headers, onEnd }) => {
      const client = httpClient();
      const started = await startDenoRelay({
        request,
        url,
        headers,
        requestId: exchange.requestId,
        limits,
        signal: exchange.signal,
        ...(client ? { httpClient: client } : {}),
        onEnd,
      });
      return started.ok ? { ok: true, relay: started.relay, response: started.response } : started;
    });
    return response ?? new Response(null, { status: 500 });
  };
  // With TLS every listener shares the port (SO_REUSEPORT), so a reload can start the next before the old one stops.
  return swappableListener(
    (tls, port) => serveDeno(handler, { ...options, port, reusePort: options.reusePort === true || tls !== undefined, ...(tls ? { tls } : {}) }),
    protocols,
    options.port,
  );
}
