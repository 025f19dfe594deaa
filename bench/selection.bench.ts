/**
 * Microbenchmark of server selection: ns per pick for each algorithm with 3, 100 and 10,000 candidates.
 *
 *   npm run bench:selection                 (tsx on Node; also runs under `deno run -A` and `bun run`)
 *   npm run bench:selection -- --json       (also writes bench/results/selection.json)
 *
 * Two server states per algorithm:
 *   - idle:   every server has 0 in flight and no latency sample, so every server ties (the common state under light load);
 *   - loaded: seeded random in-flight counts (0-31), weights (1-5) and latency samples (1-50 ms).
 * Each measured pick is followed by the in-flight change the balancer would report (acquire, then release), so
 * heap-based algorithms pay for re-sorting exactly as they do in service. consistent_hash hashes a different
 * key (one of 1024 precomputed strings) on every pick. The pool is built once per size, outside the timing.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { bench, do_not_optimize, group, run, summary } from 'mitata';
import { ALGORITHM_NAMES, type SelectionContext } from '../src/core/selection/algorithm.ts';
import { createSelector } from '../src/core/selection/selector.ts';
import { seededRandom } from '../src/core/selection/seeded-random.ts';
import { ServerPool } from '../src/core/upstream/server-pool.ts';

const SIZES = [3, 100, 10_000];

function pool(count: number, state: 'idle' | 'loaded'): ServerPool {
  const random = seededRandom(count);
  const weight = () => (state === 'idle' ? 1 : 1 + Math.floor(random() * 5));
  return new ServerPool(Array.from({ length: count }, (_, i) => ({ url: `http://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`, weight: weight() })));
}

const KEYS: SelectionContext[] = Array.from({ length: 1024 }, (_, i) => ({ hashKey: `192.168.${i >> 8}.${i & 255}` }));

for (const name of ALGORITHM_NAMES) {
  for (const state of ['idle', 'loaded'] as const) {
    group(`${name} (${state})`, () => {
      summary(() => {
        bench(`${name} ${state} n=$servers`, function* (context: { get(name: string): number }) {
          const servers = pool(context.get('servers'), state);
          // One selector per measurement: the algorithms keep rotation state, as they do in the balancer.
          const selector = createSelector(servers, { algorithm: name, random: seededRandom(42) });
          if (state === 'loaded') {
            const random = seededRandom(7);
            for (const server of servers.servers) {
              server.inFlight = Math.floor(random() * 32);
              selector.loadChanged(server);
              selector.responded(server, 1 + random() * 49);
            }
          }
          let i = 0;
          yield () => {
            const server = selector.pick(KEYS[i++ & 1023])!;
            server.inFlight++;
            selector.loadChanged(server);
            server.inFlight--;
            selector.loadChanged(server);
            return do_not_optimize(server);
          };
        }).args('servers', SIZES);
      });
    });
  }
}

const wantJson = process.argv.includes('--json');
const result = await run({ colors: false });

interface Row {
  algorithm: string;
  state: string;
  servers: number;
  avgNs: number | null;
  p50Ns: number | null;
  p99Ns: number | null;
  error?: string;
}
const rows: Row[] = result.benchmarks.flatMap((trial) =>
  trial.runs.map((r): Row => {
    const [algorithm = '', state = ''] = r.name.split(' ');
    return {
      algorithm,
      state,
      servers: Number(r.args.servers),
      avgNs: r.stats ? r.stats.avg : null,
      p50Ns: r.stats ? r.stats.p50 : null,
      p99Ns: r.stats ? r.stats.p99 : null,
      ...(r.error ? { error: String((r.error as { message?: string }).message ?? r.error) } : {}),
    };
  })
);

// Compact summary: average ns per pick, one line per algorithm and state.
const fmt = (ns: number | null) => (ns === null ? 'error' : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);
console.log(`\nns per pick + in-flight up and down (average), ${runtimeName()}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
console.log(`| algorithm | state | ${SIZES.map((n) => `n=${n}`).join(' | ')} |`);
console.log(`| --- | --- | ${SIZES.map(() => '---:').join(' | ')} |`);
for (const name of ALGORITHM_NAMES) {
  for (const state of ['idle', 'loaded']) {
    const cells = SIZES.map((n) => fmt(rows.find((r) => r.algorithm === name && r.state === state && r.servers === n)?.avgNs ?? null));
    console.log(`| ${name} | ${state} | ${cells.join(' | ')} |`);
  }
}

if (wantJson) {
  const file = new URL('./results/selection.json', import.meta.url);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), runtime: runtimeName(), loadAverage: loadavg(), rows }, null, 2)}\n`);
  console.log(`\nwrote ${file.pathname}`);
}

function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.version}`;
}
