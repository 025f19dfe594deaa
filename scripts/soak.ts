/**
 * `npm run soak`: a bounded soak of the resilience wiring (issue 9), a script like the benchmark, not a timed test.
 * Mixed traffic (GETs, small POSTs, clients that abort mid-request, SSE streams opened and dropped) through the real
 * proxy while its servers are killed and restarted, hung and made to reset in turn. Afterwards every in-flight count
 * must be 0. Prints the proxy's memory: RSS from /proc before, during (peak) and after, and, on Node and Deno, the
 * JavaScript heap in use after a forced full GC at the start, half way and at the end (scripts/lib/heap-after-gc.ts):
 * RSS alone cannot tell a leak from the heap's high-water mark.
 * SOAK_SECONDS (default 120), FAIRWAY_RUNTIMES (the first one named; default node20).
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { getStats } from '../test/support/http.ts';
import { pollUntil } from '../test/support/poll.ts';
import { startProxy } from '../test/support/proxy-process.ts';
import { getRuntime } from '../test/support/runtimes.ts';
import type { RuntimeName } from '../test/support/runtimes.ts';
import { killAll, startFaultServers } from '../test/faults/fault-server.ts';
import { startLoad } from '../test/faults/load.ts';
import { connectHeapProbe, type HeapProbe, withInspector } from './lib/heap-after-gc.ts';

const seconds = Number(process.env.SOAK_SECONDS ?? 120);
const runtimeName = (process.env.FAIRWAY_RUNTIMES?.split(',')[0] ?? 'node20') as RuntimeName;
const rssMiB = (pid: number): number => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 102.4) / 10 : Number.NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const servers = await startFaultServers(['a', 'b', 'c']);
const runtime = getRuntime(runtimeName);
const inspected = withInspector(runtime);
const proxy = await startProxy(inspected ?? runtime, {
  ALGORITHM: 'least_connections',
  BACKEND_SERVERS: servers.map((s) => s.url).join(','),
  HEALTH_CHECK_INTERVAL_MS: '200',
  HEALTH_CHECK_TIMEOUT_MS: '1000',
  UPSTREAM_TIMEOUT_MS: '500',
  OUTLIER_BASE_EJECTION_MS: '1000',
  RETRY_ON_STATUS: '503',
});
const probe: HeapProbe | undefined = inspected === undefined ? undefined : await connectHeapProbe(() => proxy.stderr());
/** Heap in use after a full GC, and RSS, at one point of the soak. */
const sample = async () => ({ heapMiB: (await probe?.usedAfterGcMiB()) ?? Number.NaN, rssMiB: rssMiB(proxy.pid) });
const heap = { start: await sample(), middle: { heapMiB: Number.NaN, rssMiB: Number.NaN }, end: { heapMiB: Number.NaN, rssMiB: Number.NaN } };
const memory = { before: heap.start.rssMiB, peak: 0, after: 0 };
console.log(`soak: ${runtimeName}, ${seconds} s, proxy pid ${proxy.pid}, RSS before ${memory.before} MiB, heap after GC ${heap.start.heapMiB} MiB`);
const deadline = Date.now() + seconds * 1000;
const maxMs = seconds * 1000;

const gets = startLoad(proxy.url, { clients: 6, requests: 10_000_000, maxMs });
const posts = startLoad(proxy.url, { clients: 2, requests: 10_000_000, maxMs, method: 'POST', body: (n) => Buffer.from(`soak body ${n}`) });
let aborted = 0;
let streams = 0;
const aborting = (async () => {
  while (Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      const req = http.get(`${proxy.url}/abort-${aborted}`, () => {});
      req.on('error', () => resolve());
      setTimeout(() => (req.destroy(), resolve()), 5 + (aborted % 20));
    });
    aborted++;
  }
})();
const sse = (async () => {
  while (Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      const req = http.get(`${proxy.url}/sse`, (res) => res.once('data', () => setTimeout(() => (req.destroy(), resolve()), 200)));
      req.on('error', () => resolve());
    });
    streams++;
  }
})();
const chaos = (async () => {
  for (let round = 0; Date.now() < deadline - 3_000; round++) {
    const server = servers[round % 3]!;
    switch (round % 3) {
      case 0:
        await server.kill();
        await sleep(1_000);
        await server.start();
        break;
      case 1:
        server.mode = 'hang';
        await sleep(1_000);
        server.mode = 'ok';
        break;
      case 2:
        server.mode = 'reset';
        await sleep(1_000);
        server.mode = 'ok';
    }
    memory.peak = Math.max(memory.peak, rssMiB(proxy.pid));
    await sleep(1_000);
  }
})();
const sampler = setInterval(() => (memory.peak = Math.max(memory.peak, rssMiB(proxy.pid))), 1_000);
const halfWay = sleep((seconds * 1000) / 2).then(async () => (heap.middle = await sample()));
const [getResult, postResult] = await Promise.all([gets.done, posts.done, aborting, sse, chaos, halfWay]);
clearInterval(sampler);
for (const s of servers) s.mode = 'ok';
// Every exchange must have reached its exit: hung requests time out within UPSTREAM_TIMEOUT_MS.
try {
  await pollUntil(async () => (await getStats(proxy.url)).totals.activeConnections === 0, { timeoutMs: 10_000, description: 'in-flight back to 0' });
} catch (error) {
  // What was left in flight, for the report, before the process is stopped.
  const left = await getStats(proxy.url);
  console.log(`soak: in flight did not return to 0: ${JSON.stringify(left.totals)}, per server ${left.servers.map((s) => s.activeConnections).join('/')}`);
  await proxy.stop();
  await killAll(servers);
  throw error;
}
const stats = await getStats(proxy.url);
memory.after = rssMiB(proxy.pid);
heap.end = await sample();
probe?.close();
console.log(`soak: GET ${getResult.sent} sent, ${getResult.errors} errors ${JSON.stringify(getResult.statuses)}`);
console.log(`soak: POST ${postResult.sent} sent, ${postResult.errors} errors ${JSON.stringify(postResult.statuses)}`);
console.log(`soak: ${aborted} aborted requests, ${streams} SSE streams opened and dropped`);
console.log(`soak: in flight afterwards: total ${stats.totals.activeConnections}, per server ${stats.servers.map((s) => s.activeConnections).join('/')}`);
console.log(`soak: proxy RSS before ${memory.before} MiB, peak during ${memory.peak} MiB, after ${memory.after} MiB`);
const point = (p: { heapMiB: number; rssMiB: number }) => `${p.heapMiB} MiB (RSS ${p.rssMiB} MiB)`;
console.log(`soak: heap in use after a forced GC: start ${point(heap.start)}, half way ${point(heap.middle)}, end ${point(heap.end)}`);
const exit = await proxy.stop();
await killAll(servers);
console.log(`soak: proxy exit ${JSON.stringify(exit)}`);
process.exit(stats.totals.activeConnections === 0 ? 0 : 1);
