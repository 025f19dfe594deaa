/**
 * Microbenchmark of server selection: ns per pick for each algorithm with 3, 100 and 10,000 candidates.
 *
 *   npm run bench:selection                 (tsx on Node; also runs under `deno run -A` and `bun run`)
 *   npm run bench:selection -- --json       (also writes bench/results/selection.json)
 *
 * Two candidate states per algorithm:
 *   - idle:   every server has 0 active requests and no latency sample, so every candidate ties and the
 *             tie rotation does the most work (the common state under light load);
 *   - loaded: seeded random active counts (0-31), weights (1-5) and latency averages (1-50 ms).
 * Candidates are plain objects, as the balancer passes them; the list is built once per size, outside the timing.
 */
import { writeFileSync } from 'node:fs';
import { bench, do_not_optimize, group, run, summary } from 'mitata';
import { ALGORITHM_NAMES, type Candidate } from '../src/core/selection/algorithm.ts';
import { createAlgorithm } from '../src/core/selection/create-algorithm.ts';

const SIZES = [3, 100, 10_000];

/** Small deterministic PRNG (mulberry32) so every run and runtime sees the same "loaded" candidates. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function idle(count: number): Candidate[] {
  return Array.from({ length: count }, (_, id) => ({ id, weight: 1, inFlight: 0, latencyEwmaMs: undefined }));
}

function loaded(count: number): Candidate[] {
  const random = prng(count);
  return Array.from({ length: count }, (_, id) => ({
    id,
    weight: 1 + Math.floor(random() * 5),
    inFlight: Math.floor(random() * 32),
    latencyEwmaMs: 1 + random() * 49,
  }));
}

const STATES = { idle, loaded } as const;

for (const name of ALGORITHM_NAMES) {
  for (const [state, build] of Object.entries(STATES)) {
    group(`${name} (${state})`, () => {
      summary(() => {
        bench(`${name} ${state} n=$servers`, function* (context: { get(name: string): any }) {
          const candidates = build(context.get('servers'));
          // One instance per measurement: the algorithms keep rotation state, as they do in the balancer.
          const algorithm = createAlgorithm(name);
          yield () => do_not_optimize(algorithm.pick(candidates));
        }).args('servers', SIZES);
      });
    });
  }
}

const wantJson = process.argv.includes('--json');
const result = await run({ colors: false });

interface Row { algorithm: string; state: string; servers: number; avgNs: number | null; p50Ns: number | null; p99Ns: number | null; error?: string }
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
  }),
);

// Compact summary: average ns per pick, one line per algorithm and state.
const fmt = (ns: number | null) => (ns === null ? 'error' : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);
console.log(`\nns per pick (average), ${runtimeName()}\n`);
console.log(`| algorithm | state | ${SIZES.map((n) => `n=${n}`).join(' | ')} |`);
console.log(`| --- | --- | ${SIZES.map(() => '---:').join(' | ')} |`);
for (const name of ALGORITHM_NAMES) {
  for (const state of Object.keys(STATES)) {
    const cells = SIZES.map((n) => fmt(rows.find((r) => r.algorithm === name && r.state === state && r.servers === n)?.avgNs ?? null));
    console.log(`| ${name} | ${state} | ${cells.join(' | ')} |`);
  }
}

if (wantJson) {
  const file = new URL('./results/selection.json', import.meta.url);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), runtime: runtimeName(), rows }, null, 2)}\n`);
  console.log(`\nwrote ${file.pathname}`);
}

function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.version}`;
}
