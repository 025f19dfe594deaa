/** Serves a fetch handler with Bun.serve, with Fairway's limits and its one error shape. */
import { errorResponse, internalError } from '../../core/proxy/json-error.ts';
import type { FetchHandler, ListeningServer, ServeOptions } from '../../core/runtime/contracts.ts';
import { asksToClose, sayingClose } from './connection-close.ts';

/** Bun.serve's options every Fairway listener shares. */
export function bunServeBase(options: ServeOptions) {
  return {
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort === true,
    // Bun closes connections idle for 10 s by default, which would cut slow upstream answers and quiet streams.
    // Fairway's own limits apply instead. Bun 1.4.5's idleTimeout never closes an idle keep-alive connection
    // or an unfinished request head (measured: open after 12 s with idleTimeout 1), so CLIENT_HEADER_TIMEOUT_MS
    // and CLIENT_KEEPALIVE_TIMEOUT_MS cannot be applied on Bun (README, per-runtime table).
    idleTimeout: 0,
    // Bun refuses bodies over 128 MiB by default; MAX_REQUEST_BODY_BYTES is the only limit Fairway applies.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // Bun.serve offers no ALPN protocol with a certificate, so clients speak HTTP/1.1 (no h2).
    ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
    // Without it Bun answers a thrown error with its own HTML page; every error Fairway sends has one shape.
    error: (error: Error) => errorResponse(internalError(error)),
  };
}

export function serveBun(handler: FetchHandler, options: ServeOptions): Promise<ListeningServer> {
  const server = Bun.serve({
    ...bunServeBase(options),
    fetch: (request, server) => {
      const response = handler(request, { address: server.requestIP(request)?.address, secure: options.tls !== undefined });
      if (!asksToClose(request)) return response;
      return response instanceof Response ? sayingClose(response) : response.then(sayingClose);
    },
  });
  // stop(false) stops accepting and lets requests in flight finish; stop(true), at the shutdown deadline, ends them.
  return Promise.resolve({ port: server.port as number, close: () => server.stop(false), terminate: () => void server.stop(true) });
}
