/** Deno entrypoint: serves the core with Deno.serve and forwards with Deno's fetch. */
import { startFairway, type FetchHandler, type ListeningServer } from '../core/bootstrap.ts';

function serveDeno(handler: FetchHandler, options: { hostname: string; port: number }): Promise<ListeningServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: options.hostname,
        port: options.port,
        onListen: ({ port }) => resolve({ port, close: () => server.shutdown() }),
        onError: () => new Response(JSON.stringify({ error: 'internal error' }), { status: 500 }),
      }, (request, info) => handler(request, { address: (info.remoteAddr as Deno.NetAddr).hostname }));
    } catch (error) {
      reject(error);
    }
  });
}

const started = await startFairway({
  name: 'deno',
  version: Deno.version.deno,
  env: Deno.env.toObject(),
  serve: serveDeno,
  upstream: {
    fetch: (url, init) => fetch(url, init),
    // Deno's fetch gunzips and has no opt-out; the core drops the stale encoding headers.
    decodesCompressedBodies: true,
  },
});
if (!started.ok) {
  console.error(started.message);
  Deno.exit(1);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  Deno.addSignalListener(signal, () => {
    void started.stop().then(() => Deno.exit(0));
  });
}
