/** Bun entrypoint: serves the core with Bun.serve and forwards with Bun's fetch, bodies left compressed. */
import { loadZodEnglishOnly } from './bun/zod-locales.ts';

// Before the rest loads (hence the dynamic imports): the config loads zod.
loadZodEnglishOnly();
const { startFairway } = await import('../core/bootstrap.ts');
const { serveBun } = await import('./bun/serve.ts');
const { serveBunBalancer } = await import('./bun/serve-balancer.ts');
const { createBunWorkers, whenSupervisorGone } = await import('./bun/workers.ts');
const { ProtocolFiles } = await import('./shared/protocol-files.ts');

const protocols = new ProtocolFiles();
// Built again only when a reload replaces protocols.upstream, not once per forwarded request.
let tlsFor: { upstream: typeof protocols.upstream; options: { ca?: string[]; rejectUnauthorized: boolean } } | undefined;
const bunTls = () => {
  const tls = protocols.upstream;
  if (tlsFor?.upstream !== tls) {
    tlsFor = {
      upstream: tls,
      options: tls.ca === undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : { ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized },
    };
  }
  return tlsFor.options;
};

const started = await startFairway({
  name: 'bun',
  version: Bun.version,
  env: process.env,
  hardwareConcurrency: navigator.hardwareConcurrency,
  serve: serveBun,
  serveBalancer: (balancer, options) => serveBunBalancer(balancer, options, protocols),
  protocols,
  upstream: {
    // decompress: false passes the server's bytes through, so Content-Encoding still matches them.
    // tls: UPSTREAM_CA_FILE (with the bundled roots) and UPSTREAM_TLS_INSECURE, for forwarding and health checks alike.
    // Bun's fetch resends a request by itself when a reused kept-alive connection closes before the response head, even
    // after the server read it all, but only an idempotent method with a buffered body (1.4.5, bench/repro/bun-fetch-retry.mjs):
    // never a POST or PATCH, nor a streamed body (over RETRY_BUFFER_BYTES or without a length), so issue 9's "a body at most
    // once unless the method allows a retry" holds (test/faults "sent once"). Those resends are not Fairway's retries:
    // not logged or counted (runtime-limits: fetchResendsIdempotent).
    fetch: (url, init) => fetch(url, { ...init, decompress: false, tls: bunTls() } as RequestInit),
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
// SIGHUP re-reads TLS_CERT_FILE and TLS_KEY_FILE; a supervisor passes it on to its workers, which serve TLS.
process.on('SIGHUP', () => {
  if (started.role === 'supervisor') { for (const pid of started.workerPids?.() ?? []) process.kill(pid, 'SIGHUP'); }
  else void protocols.reload();
});
