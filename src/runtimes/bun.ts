/** Bun entrypoint: serves the core with Bun.serve and forwards with Bun's fetch, bodies left compressed. */
import { startFairway } from '../core/bootstrap.ts';
import { errorResponse, internalError } from '../core/proxy/json-error.ts';
import type { FetchHandler, ListeningServer, ServeOptions } from '../core/runtime/contracts.ts';
import { createBunWorkers, whenSupervisorGone } from './bun/workers.ts';

function serveBun(handler: FetchHandler, options: ServeOptions): Promise<ListeningServer> {
  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort === true,
    // Bun closes connections idle for 10 s by default, which would cut slow upstream answers and quiet streams.
    idleTimeout: 0,
    // Bun refuses bodies over 128 MiB by default; MAX_REQUEST_BODY_BYTES is the only limit Fairway applies.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: (request, server) => handler(request, { address: server.requestIP(request)?.address }),
    // Without it Bun answers a thrown error with its own HTML page; every error Fairway sends has one shape.
    error: (error) => errorResponse(internalError(error)),
  });
  return Promise.resolve({ port: server.port as number, close: () => server.stop() });
}

const started = await startFairway({
  name: 'bun',
  version: Bun.version,
  env: process.env,
  hardwareConcurrency: navigator.hardwareConcurrency,
  serve: serveBun,
  upstream: {
    // decompress: false passes the server's bytes through, so Content-Encoding still matches them.
    fetch: (url, init) => fetch(url, { ...init, decompress: false } as RequestInit),
    decodesCompressedBodies: false,
  },
  workers: createBunWorkers(),
});
if (!started.ok) {
  console.error(started.message);
  process.exit(1);
}
const stopAndExit = () => void started.stop().then(() => process.exit(0));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stopAndExit);
if (started.role === 'worker') whenSupervisorGone(stopAndExit);
