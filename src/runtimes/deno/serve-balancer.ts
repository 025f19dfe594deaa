/**
 * Deno's balancer listener: the core's fetch handler, WebSocket handshakes through the message relay, HTTPS
 * with TLS_CERT_FILE (h2 and HTTP/1.1 by ALPN), SIGHUP reload by a listener swap, and a shutdown that keeps
 * open tunnels usable through the drain.
 */
import type { Balancer } from '../../core/balancer.ts';
import { errorResponse } from '../../core/proxy/json-error.ts';
import { requestIdFor } from '../../core/proxy/forwarded-headers.ts';
import type { RelayLimits } from '../../core/proxy/websocket/relay.ts';
import type { ListeningServer, ServeOptions } from '../../core/runtime/contracts.ts';
import { swappableListener } from '../shared/listener-swap.ts';
import type { ProtocolFiles } from '../shared/protocol-files.ts';
import { isRelayedWebSocket, relayWebSocket } from '../shared/websocket-exchange.ts';
import { serveDeno } from './serve.ts';
import { startDenoRelay } from './websocket-relay.ts';

export async function serveDenoBalancer(
  balancer: Balancer,
  options: ServeOptions,
  protocols: ProtocolFiles,
  limits: RelayLimits,
  httpClient: () => Deno.HttpClient | undefined,
): Promise<ListeningServer> {
  // Set while shutdown waits for open tunnels with the listener still open (see `close` below).
  let refusing = false;
  const handler = async (request: Request, client: Parameters<Balancer['fetch']>[1]): Promise<Response> => {
    if (refusing) return shuttingDown(request);
    if (!isRelayedWebSocket(request)) return balancer.fetch(client.secure === true ? withHost(request) : request, client);
    const response = await relayWebSocket(balancer, request, client, async ({ exchange, url, headers, onEnd }) => {
      const client = httpClient();
      const started = await startDenoRelay({
        request,
        url,
        headers,
        requestId: exchange.requestId,
        ...(exchange.setCookie !== undefined ? { setCookie: exchange.setCookie } : {}),
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
  const listener = await swappableListener(
    (tls, port) => serveDeno(handler, { ...options, port, reusePort: options.reusePort === true || tls !== undefined, ...(tls ? { tls } : {}) }),
    protocols,
    options.port,
  );
  return {
    port: listener.port,
    // Deno's server.shutdown() sends 1001 to every upgraded WebSocket at once (Deno 2.9, denoland/deno#35105) and
    // nothing stops Deno.serve accepting short of it. So while tunnels are open the listener stays up and answers
    // every new request with 503; it shuts down once the last tunnel has ended, by itself or at the drain deadline
    // (README, per-runtime table).
    close: async () => {
      if (balancer.tunnels.count() > 0) {
        refusing = true;
        await balancer.tunnels.idle();
      }
      await listener.close();
    },
  };
}

/** A request that reaches Deno's listener while shutdown waits for tunnels: refused, as a closed listener would. */
function shuttingDown(request: Request): Response {
  const response = errorResponse({ status: 503, error: 'Fairway is shutting down', requestId: requestIdFor(request.headers) });
  // Deno sends the header but keeps the connection open; a client closes it on reading it (RFC 9112 §9.6).
  response.headers.set('connection', 'close');
  return response;
}

/**
 * An HTTP/2 request has `:authority` instead of Host (RFC 9113 §8.3.1), and Deno's Request shows neither
 * header, only the URL built from it: Host is put back from there, so X-Forwarded-Host and PRESERVE_HOST
 * work as over HTTP/1.1. Only over TLS, where Deno offers h2.
 */
function withHost(request: Request): Request {
  if (request.headers.has('host')) return request;
  const headers = new Headers(request.headers);
  headers.set('host', new URL(request.url).host);
  return new Request(request, { headers });
}
