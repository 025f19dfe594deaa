/** Deno entrypoint: serves the core with Deno.serve and forwards with Deno's fetch. */
import { startFairway } from '../core/bootstrap.ts';
import { fetchWithDeclaredLength, hasDeclaredLengthBody } from './deno/declared-length-upstream.ts';
import { serveDeno } from './deno/serve.ts';
import { createDenoWorkers, whenSupervisorGone } from './deno/workers.ts';

const started = await startFairway({
  name: 'deno',
  version: Deno.version.deno,
  env: Deno.env.toObject(),
  hardwareConcurrency: navigator.hardwareConcurrency,
  serve: serveDeno,
  upstream: {
    fetch: (url, init) => {
      // Deno's fetch decodes every compressed body, keeping Content-Encoding, unless the request asks for
      // identity: then it passes the bytes through untouched. So servers are asked for identity, and one
      // that compresses anyway reaches the client byte for byte with headers that match.
      init.headers.set('accept-encoding', 'identity');
      // Deno's fetch would send a declared-length body chunked; its node:http client keeps the length.
      return hasDeclaredLengthBody(init) ? fetchWithDeclaredLength(url, init) : fetch(url, init);
    },
    decodesCompressedBodies: false,
  },
  workers: createDenoWorkers(),
});
if (!started.ok) {
  console.error(started.message);
  Deno.exit(1);
}
const stopAndExit = () => void started.stop().then(() => Deno.exit(0));
for (const signal of ['SIGINT', 'SIGTERM'] as const) Deno.addSignalListener(signal, stopAndExit);
if (started.role === 'worker') whenSupervisorGone(stopAndExit);
