/** Deno entrypoint: serves the core with Deno.serve and forwards with Deno's fetch. */
import { startFairway } from '../core/bootstrap.ts';
import { headerPairs } from '../core/proxy/web-headers.ts';
import { chunkReleaser, releaseChunk, releasingBody, withSharedChunks } from './deno/chunk-release.ts';
import { fetchWithDeclaredLength, hasDeclaredLengthBody } from './deno/declared-length-upstream.ts';
import { serveDeno } from './deno/serve.ts';
import { serveDenoBalancer } from './deno/serve-balancer.ts';
import { writeStdoutLines } from './deno/stdout-lines.ts';
import { ProtocolFiles } from './shared/protocol-files.ts';

// Deno's HTTP client has no option to skip certificate checks, only a flag for the whole process.
const protocols = new ProtocolFiles((config) =>
  config.upstreamTls.insecure
    ? 'UPSTREAM_TLS_INSECURE=true is not supported on Deno: its HTTP client cannot skip certificate checks. Start Deno with ' +
      "--unsafely-ignore-certificate-errors instead (development only), or give the servers' CA in UPSTREAM_CA_FILE"
    : undefined
);
let httpClient: Deno.HttpClient | undefined;
/** UPSTREAM_CA_FILE's certificates, added to Deno's default roots, for forwarding, health checks and WebSockets alike. */
const upstreamClient = () => (protocols.privateCas === undefined ? undefined : (httpClient ??= Deno.createHttpClient({ caCerts: [...protocols.privateCas] })));
import { createDenoWorkers, whenSupervisorGone } from './deno/workers.ts';

const started = await startFairway({
  name: 'deno',
  version: Deno.version.deno,
  env: Deno.env.toObject(),
  hardwareConcurrency: navigator.hardwareConcurrency,
  serve: serveDeno,
  serveBalancer: (balancer, options) => serveDenoBalancer(balancer, options, protocols, protocols.relayLimits, upstreamClient),
  protocols,
  upstream: {
    fetch: (url, init) => {
      // Deno's fetch decodes every compressed body, keeping Content-Encoding, unless the request asks for
      // identity: then it passes the bytes through untouched. So servers are asked for identity, and one
      // that compresses anyway reaches the client byte for byte with headers that match.
      init.headers.set('accept-encoding', 'identity');
      // Deno's fetch would send a declared-length body chunked; its node:http client keeps the length. The body is
      // the client's, read from Deno.serve chunk by chunk, so each chunk is freed once written (chunk-release.ts).
      if (hasDeclaredLengthBody(init)) return fetchWithDeclaredLength(url, init, protocols.privateCas, releaseChunk).then(withSharedChunks);
      const client = upstreamClient();
      // As pairs: Deno's fetch copies a Headers argument far more slowly (src/core/proxy/web-headers.ts).
      const headers = headerPairs(init.headers);
      // A streamed body is the client's, read from Deno.serve: each chunk is freed once fetch has taken it.
      const body = init.body instanceof ReadableStream ? releasingBody(init.body) : init.body;
      return fetch(url, client ? { ...init, headers, body, client } : { ...init, headers, body });
    },
    decodesCompressedBodies: false,
    chunkReleaser,
  },
  workers: createDenoWorkers(),
  writeLogLines: writeStdoutLines,
});
if (!started.ok) {
  console.error(started.message);
  Deno.exit(1);
}
const stopAndExit = () => void started.stop().then(() => Deno.exit(0));
for (const signal of ['SIGINT', 'SIGTERM'] as const) Deno.addSignalListener(signal, stopAndExit);
if (started.role === 'worker') whenSupervisorGone(stopAndExit);
// SIGHUP re-reads TLS_CERT_FILE and TLS_KEY_FILE; a supervisor passes it on to its workers, which serve TLS.
Deno.addSignalListener('SIGHUP', () => {
  if (started.role === 'supervisor') { for (const pid of started.workerPids?.() ?? []) Deno.kill(pid, 'SIGHUP'); }
  else void protocols.reload();
});
