/** Bun entrypoint: serves the core with Bun.serve and forwards with Bun's fetch, bodies left compressed. */
import { startFairway, type FetchHandler, type ListeningServer } from '../core/bootstrap.ts';

function serveBun(handler: FetchHandler, options: { hostname: string; port: number }): Promise<ListeningServer> {
  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    // Bun closes connections idle for 10 s by default, which would cut slow upstream answers and quiet streams.
    idleTimeout: 0,
    fetch: (request, server) => handler(request, { address: server.requestIP(request)?.address }),
  });
  return Promise.resolve({ port: server.port as number, close: () => server.stop() });
}

const started = await startFairway({
  name: 'bun',
  version: Bun.version,
  env: process.env,
  serve: serveBun,
  upstream: {
    // decompress: false passes the server's bytes through, so Content-Encoding still matches them.
    fetch: (url, init) => fetch(url, { ...init, decompress: false } as RequestInit),
    decodesCompressedBodies: false,
  },
});
if (!started.ok) {
  console.error(started.message);
  process.exit(1);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void started.stop().then(() => process.exit(0));
  });
}
