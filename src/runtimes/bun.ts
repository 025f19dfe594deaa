/** Bun entrypoint: serves the core with Bun.serve and forwards with Bun's fetch, bodies left compressed. */
import { startFairway } from '../core/bootstrap.ts';
import { serveBun } from './bun/serve.ts';
import { createBunWorkers, whenSupervisorGone } from './bun/workers.ts';

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
