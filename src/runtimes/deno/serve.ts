/** Serves a fetch handler with Deno.serve, passing on when each response has been sent (`info.completed`). */
import { errorResponse, internalError } from '../../core/proxy/json-error.ts';
import type { FetchHandler, ListeningServer, ServeOptions } from '../../core/runtime/contracts.ts';

export function serveDeno(handler: FetchHandler, options: ServeOptions): Promise<ListeningServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve(
        {
          hostname: options.hostname,
          port: options.port,
          reusePort: options.reusePort === true,
          // With a certificate, Deno offers h2 and HTTP/1.1 by ALPN.
          ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
          onListen: ({ port }) => resolve({ port, close: () => server.shutdown() }),
          onError: (error) => errorResponse(internalError(error)),
        },
        (request, info) =>
          handler(request, { address: (info.remoteAddr as Deno.NetAddr).hostname, completed: info.completed, secure: options.tls !== undefined }),
      );
    } catch (error) {
      reject(error);
    }
  });
}
