/** Serves a fetch handler with Bun.serve, with Fairway's limits and its one error shape. */
import { errorResponse, internalError } from '../../core/proxy/json-error.ts';
import type { FetchHandler, ListeningServer, ServeOptions } from '../../core/runtime/contracts.ts';
import { bunIdleTimeoutSeconds } from './idle-timeout.ts';

export function serveBun(handler: FetchHandler, options: ServeOptions): Promise<ListeningServer> {
  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort === true,
    // Bun's default (10 s) would cut slow upstream answers and quiet streams; each request switches it off below.
    idleTimeout: bunIdleTimeoutSeconds(options.clientLimits),
    // Bun refuses bodies over 128 MiB by default; MAX_REQUEST_BODY_BYTES is the only limit Fairway applies.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: (request, server) => {
      // While a request is handled, Fairway's own limits apply (CLIENT_BODY_TIMEOUT_MS, UPSTREAM_*): not the idle timer.
      if (options.clientLimits !== undefined) server.timeout(request, 0);
      return handler(request, { address: server.requestIP(request)?.address });
    },
    // Without it Bun answers a thrown error with its own HTML page; every error Fairway sends has one shape.
    error: (error) => errorResponse(internalError(error)),
  });
  return Promise.resolve({ port: server.port as number, close: () => server.stop() });
}
