/**
 * The core's own per-request cost, without sockets and without any runtime's Request, Response or Headers: admission
 * (request id, Host check, selection, header rules), the Exchange (lease, limits, stop signal, response header rules,
 * single exit) and observability (/lb/stats window, Prometheus, access log), driven as the Node-native path drives
 * them, over a plain Map as the header store. What every runtime pays in Fairway's own code, per request.
 *
 *   node bench/repro/core-lifecycle-cost.ts > /dev/null      (Node 22.18 and later; figures on stderr, access log on stdout)
 *   bun bench/repro/core-lifecycle-cost.ts > /dev/null
 *   deno run -A bench/repro/core-lifecycle-cost.ts > /dev/null
 *   env: N (requests per run, default 100000) and any Fairway setting (ACCESS_LOG=off...).
 *   On Node, `--max-semi-space-size=128` adds the bytes allocated per request (measured between two scavenges).
 */
import process from 'node:process';
import { assembleBalancer } from '../../src/core/balancer.ts';
import { parseConfig } from '../../src/core/config/config.ts';
import { configureLogging } from '../../src/core/logging.ts';
import type { HeaderMap } from '../../src/core/proxy/hop-by-hop.ts';
import type { ClientInfo } from '../../src/core/runtime/contracts.ts';
import type { UpstreamClient } from '../../src/core/upstream/upstream-client.ts';

declare const Deno: { env: { toObject(): Record<string, string> } } | undefined;
const env = (typeof Deno !== 'undefined' ? Deno.env.toObject() : process.env) as Record<string, string>;
const N = Number(env.N ?? 100_000);

/** node:http's header object, as NodeHeaders wraps it, reduced to a Map: lower-case names, values as received. */
class MapHeaders implements HeaderMap {
  readonly map: Map<string, string>;
  constructor(fields: readonly (readonly [string, string])[]) {
    this.map = new Map(fields);
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const existing = this.map.get(key);
    this.map.set(key, existing === undefined ? value : `${existing}, ${value}`);
  }
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  keys(): Iterable<string> {
    return [...this.map.keys()];
  }
}

const REQUEST_FIELDS: [string, string][] = [['host', '127.0.0.1:8080'], ['user-agent', 'wrk'], ['accept', '*/*']];
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
const client: ClientInfo = { address: '127.0.0.1', secure: false };
const HOST_LINES = ['127.0.0.1:8080'];
const never: UpstreamClient = { fetch: () => Promise.reject(new Error('not used')), decodesCompressedBodies: false };

const parsed = parseConfig({ BACKEND_SERVERS: 'http://127.0.0.1:18081,http://127.0.0.1:18082', ALGORITHM: 'round_robin', ...env });
if (!parsed.ok) throw new Error(parsed.errors.join('; '));
configureLogging('info', parsed.config.logFormat, parsed.config.accessLog);
const { balancer } = assembleBalancer(parsed.config, parsed.config.servers ?? [], never);
const admission = balancer.admission;

/** 50 requests admitted, then each one answered and ended, as 50 connections keep them in flight together. */
function batch(): void {
  const exchanges = [];
  for (let j = 0; j < 50; j++) {
    const admitted = admission.admit({
      method: 'GET',
      target: '/small',
      headers: new MapHeaders(REQUEST_FIELDS),
      client,
      hasBody: false,
      hostLines: HOST_LINES,
      httpVersion: '1.1',
    });
    if (admitted instanceof Promise || !admitted.ok) throw new Error('not admitted');
    const exchange = admitted.exchange;
    if (exchange.upstreamUrl === '' || exchange.stopSignal.aborted) throw new Error('no upstream');
    exchanges.push(exchange);
  }
  for (const exchange of exchanges) {
    const plan = exchange.responseHead(200, new MapHeaders(RESPONSE_FIELDS), false);
    exchange.headSent(plan.withBody);
    exchange.countResponseBytes(128);
    exchange.end();
  }
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
async function run(): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i += 50) {
    batch();
    // A turn of the event loop, as a server has between reads: the access log's flush runs here.
    await turn();
  }
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / N;
}

const runtime = typeof Deno !== 'undefined' ? 'Deno' : 'Bun' in globalThis ? 'Bun' : `Node ${process.versions.node}`;
await run();
const times: number[] = [];
for (let r = 0; r < 5; r++) times.push(await run());
const median = times.sort((a, b) => a - b)[2]!;
let bytes = '';
if (runtime.startsWith('Node')) {
  // Between two scavenges, the young generation's growth is what the requests allocated (with a large semi-space).
  const samples: number[] = [];
  for (let r = 0; r < 20; r++) {
    await turn();
    const before = process.memoryUsage().heapUsed;
    for (let b = 0; b < 4; b++) batch();
    const grown = process.memoryUsage().heapUsed - before;
    if (grown > 0) samples.push(grown / 200);
  }
  samples.sort((a, b) => a - b);
  if (samples.length > 0) bytes = `, about ${samples[samples.length >> 1]!.toFixed(0)} bytes allocated per request`;
}
process.stderr.write(`${runtime}: the core's own lifecycle ${median.toFixed(2)} µs/req (median of 5 × ${N})${bytes}\n`);
await balancer.stop();
process.exit(0);
