/** Serves a fetch handler with Deno.serve, passing on when each response has been sent (`info.completed`). */
import { errorResponse, internalError } from '../../core/proxy/json-error.ts';
import type { FetchHandler, ListeningServer, ServeOptions } from '../../core/runtime/contracts.ts';

export function serveDeno(handler: FetchHandler, options: ServeOptions): Promise<ListeningServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: options.hostname,
        port: options.port,
        reusePort: options.reusePort === true,
        onListen: ({ port }) => resolve({ port, close: () => server.shutdown() }),
        onError: (error) => errorResponse(internalError(error)),
      }, (request, info) => handler(request, { address: (info.remoteAddr as Deno.NetAddr).hostname, completed: info.completed }));
    } catch (error) {
      reject(error);
    }
  });
}
