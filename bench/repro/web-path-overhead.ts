/**
 * Fairway's own CPU time per request on the Web path (Deno, Bun), without sockets: the balancer's `fetch` in a loop
 * against an upstream client that answers at once, minus the same loop through a ceiling-like handler (copy the
 * request headers, drop hop-by-hop fields, call the same client, return its response). What is left is what
 * Fairway's code adds per request, apart from the runtime's server and fetch, and far less noisy than wrk on a
 * shared machine. Both sides build the same Request and upstream Response, so those costs cancel.
 *
 *   deno run -A bench/repro/web-path-overhead.ts > /dev/null   (the figures go to stderr; stdout is the access log)
 *   bun bench/repro/web-path-overhead.ts > /dev/null
 *   env: N (requests per run, default 50000), and any Fairway setting (ACCESS_LOG=off, UPSTREAM_READ_TIMEOUT_MS=0...);
 *   on Bun, BUN_JSC_useFTLJIT=0 as `npm run start:bun` sets it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import process from 'node:process';
import { assembleBalancer } from '../../src/core/balancer.ts';
import { parseConfig } from '../../src/core/config/config.ts';
import { configureLogging } from '../../src/core/logging.ts';
import type { ClientInfo } from '../../src/core/runtime/contracts.ts';
import type { UpstreamClient, UpstreamRequestInit } from '../../src/core/upstream/upstream-client.ts';

declare const Deno: { env: { toObject(): Record<string, string> } } | undefined;
declare const Bun: { version: string } | undefined;
const env = (typeof Deno !== 'undefined' ? Deno.env.toObject() : process.env) as Record<string, string>;
const N = Number(env.N ?? 50_000);
const say = (line: string) => process.stderr.write(line + '\n');

const BODY = new Uint8Array(128);
const RESPONSE_FIELDS: [string, string][] = [
  ['server', 'nginx/1.22.1'],
  ['date', 'Tue, 01 Dec 2026 18:18:51 GMT'],
  ['content-type', 'text/plain'],
  ['content-length', '128'],
  ['last-modified', 'Tue, 01 Dec 2026 18:18:48 GMT'],
  ['connection', 'keep-alive'],
  ['etag', '"6929b7e8-80"'],
  ['accept-ranges', 'bytes'],
];
const upstream: UpstreamClient = {
  fetch: (_url: string, _init: UpstreamRequestInit) => Promise.resolve(new Response(BODY, { status: 200, headers: RESPONSE_FIELDS })),
  decodesCompressedBodies: false,
};
const makeRequest = () => new Request('http://127.0.0.1:8080/small', { headers: [['host', '127.0.0.1:8080'], ['user-agent', 'wrk'], ['accept', '*/*']] });
const client: ClientInfo = { address: '127.0.0.1', secure: false };

const parsed = parseConfig({ BACKEND_SERVERS: 'http://127.0.0.1:18081,http://127.0.0.1:18082', ALGORITHM: 'round_robin', ...env });
if (!parsed.ok) throw new Error(parsed.errors.join('; '));
configureLogging('info', parsed.config.logFormat, parsed.config.accessLog);
const { balancer } = assembleBalancer(parsed.config, parsed.config.servers ?? [], upstream);

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];
const ceiling = async (request: Request): Promise<Response> => {
  const headers = new Headers(request.headers);
  for (const name of HOP_BY_HOP) headers.delete(name);
  headers.delete('host');
  return await upstream.fetch('http://127.0.0.1:18081/small', {
    method: request.method,
    headers,
    body: request.body,
    signal: undefined!,
    redirect: 'manual',
    duplex: 'half',
  });
};
const fairway = (request: Request) => balancer.fetch(request, client);

/**
 * CPU seconds per thread name, from /proc/self/task (Linux only). process.cpuUsage() counts every thread, so the
 * figures above include the JIT's compiler threads (Bun: JITWorker; BUN_JSC_useFTLJIT=0 leaves it almost idle).
 */
function threadCpu(): string {
  const byName = new Map<string, number>();
  try {
    for (const task of readdirSync('/proc/self/task')) {
      const name = readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim();
      const fields = readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ');
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    }
  } catch {
    return 'not available';
  }
  return [...byName].filter(([, s]) => s >= 0.05).map(([name, s]) => `${name} ${s.toFixed(2)} s`).join(', ');
}

async function run(handler: (request: Request) => Response | Promise<Response>): Promise<number> {
  // Batches of 50 in flight, as wrk -c50 keeps them.
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i += 50) {
    const batch: Promise<Response>[] = [];
    for (let j = 0; j < 50; j++) batch.push(Promise.resolve(handler(makeRequest())));
    for (const response of await Promise.all(batch)) if (response.status !== 200) throw new Error(`status ${response.status}`);
    // A turn of the event loop, as a server has between reads: timers (the access log's flush) run here.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / N;
}

const runtime = typeof Deno !== 'undefined' ? 'Deno' : typeof Bun !== 'undefined' ? `Bun ${Bun.version}` : `Node ${process.versions.node}`;
// ONLY=fairway runs Fairway alone, for a profiler (bun --cpu-prof, or deno with the inspector).
const both = env.ONLY !== 'fairway';
if (both) await run(ceiling);
await run(fairway);
const c: number[] = [], f: number[] = [];
for (let r = 0; r < 5; r++) {
  c.push(both ? await run(ceiling) : 0);
  f.push(await run(fairway));
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[2]!;
say(
  `${runtime}: ceiling-like handler ${median(c).toFixed(1)} µs/req, Fairway ${median(f).toFixed(1)} µs/req: Fairway adds ${
    (median(f) - median(c)).toFixed(1)
  } µs/req (median of 5 × ${N})`,
);
say(`RSS after the runs: ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
say(`CPU by thread (Linux): ${threadCpu()}`);
await (globalThis as { afterRuns?: () => Promise<void> }).afterRuns?.();
await balancer.stop();
// LogTape's flush timer and the health checker's keep the loop alive: this is a one-shot measurement.
process.exit(0);
