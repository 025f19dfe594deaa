/**
 * `npm run study:live`: checks the simulation against a live run of one scenario. The study's five servers run
 * for real on loopback (live-backends.ts), Fairway runs on Node 26's native path in front of them, and the same
 * kind of load (Poisson arrivals at the study's rate, for RUN_MS per algorithm) goes through a few algorithms.
 * The simulation is then run with the same rate and duration, and both are printed side by side and written to
 * bench/results/study-live.md and .json. Bounded: about 30 s in all. Run it on a quiet machine: the live side
 * includes the proxy's and the load generator's own overhead and whatever else the machine is doing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { freePort } from '../../scripts/lib/processes.mjs';
import type { AlgorithmName } from '../../src/core/selection/algorithm.ts';
import { seededRandom } from '../../src/core/selection/seeded-random.ts';
import { LOAD, SERVERS } from './scenario.ts';
import { type AlgorithmResult, simulate } from './simulate.ts';

const ALGORITHMS: readonly AlgorithmName[] = ['round_robin', 'least_connections', 'peak_ewma'];
const RUN_MS = 8_000;
/**
 * A third of the study's rate: on the shared 2-vCPU machine (load average 10-12 from other work) the live side
 * could not keep up with 600 requests/s, and its latency measured the CPU queue rather than the servers.
 */
const RATE = Number(process.env.STUDY_LIVE_RATE ?? 200);
const load = { ...LOAD, ratePerSecond: RATE, durationMs: RUN_MS };
const NODE = new URL('../../node_modules/node/bin/node', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(NODE, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await once(child, 'exit');
  clearTimeout(timer);
}

/** Resolves with the first stdout line matching `test`. */
function firstLine(child: ChildProcess, test: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (test(line)) resolve(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before it was ready`)));
  });
}

async function waitUntilServing(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await request(`${url}/lb/health`);
      await res.body.text();
      if (res.statusCode === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Fairway at ${url} did not start`);
}

/** Open-loop Poisson load: arrivals are scheduled in advance and sent when due, whatever the answers take. */
async function liveRun(algorithm: AlgorithmName, servers: string): Promise<AlgorithmResult> {
  const port = await freePort();
  const proxy = start(['src/runtimes/node.ts'], {
    ALGORITHM: algorithm,
    BACKEND_SERVERS: servers,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    ACCESS_LOG: 'off',
    HEALTH_CHECK_INTERVAL_MS: '60000',
  });
  const url = `http://127.0.0.1:${port}`;
  const agent = new Agent({ connections: 512 });
  try {
    await waitUntilServing(url);
    const random = seededRandom(load.seed);
    const latencies: number[] = [];
    const counts = SERVERS.map(() => 0);
    let errors = 0;
    const pending: Promise<void>[] = [];
    const send = async (user: number) => {
      const sentAt = performance.now();
      try {
        const res = await request(`${url}/`, { dispatcher: agent, headers: { 'x-user': `user-${user}` } });
        await res.body.text();
        latencies.push(performance.now() - sentAt);
        const index = SERVERS.findIndex((s) => s.name === res.headers['x-backend']);
        if (index !== -1) counts[index]!++;
        if (res.statusCode >= 500) errors++;
      } catch {
        latencies.push(performance.now() - sentAt);
        errors++;
      }
    };
    const begin = performance.now();
    let due = 0;
    while (due < RUN_MS) {
      const wait = begin + due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      pending.push(send(Math.floor(random() * load.users)));
      due += -Math.log(1 - random()) * (1000 / load.ratePerSecond);
    }
    await Promise.all(pending);
    latencies.sort((a, b) => a - b);
    const rank = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]!;
    const total = latencies.length;
    const answered = counts.reduce((a, b) => a + b, 0);
    return { algorithm, requests: total, p50Ms: rank(0.5), p99Ms: rank(0.99), errorRate: errors / total, share: counts.map((c) => c / answered) };
  } finally {
    await agent.close();
    await stop(proxy);
  }
}

const backends = start(['bench/study/live-backends.ts']);
const live: AlgorithmResult[] = [];
try {
  const { ports } = JSON.parse(await firstLine(backends, (line) => line.startsWith('{'))) as { ports: number[] };
  const servers = ports.map((port) => `http://127.0.0.1:${port}`).join(',');
  for (const algorithm of ALGORITHMS) live.push(await liveRun(algorithm, servers));
} finally {
  await stop(backends);
}
const simulated = ALGORITHMS.map((algorithm) => simulate(algorithm, load));

const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;
const row = (kind: string, r: AlgorithmResult) =>
  `| ${r.algorithm} | ${kind} | ${r.requests} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${percent(r.errorRate)} | ${
    r.share.map(percent).join(' | ')
  } |`;
const lines = [
  '# The study, checked against a live run',
  '',
  `Generated by \`npm run study:live\` on ${new Date().toISOString().slice(0, 10)}: the study's five servers as real node:http servers on`,
  `loopback, Fairway on Node 26 (native path) in front, open-loop Poisson load at ${load.ratePerSecond} requests/s for ${RUN_MS / 1000} s per`,
  'algorithm from one undici client; then the simulation with the same rate and duration. Live latency is measured',
  "at the client and includes the proxy's and the client's own time; the machine was shared with other work.",
  '',
  `| algorithm | run | requests | p50 ms | p99 ms | errors | ${SERVERS.map((s) => `share ${s.name}`).join(' | ')} |`,
  `| --- | --- | ---: | ---: | ---: | ---: | ${SERVERS.map(() => '---:').join(' | ')} |`,
  ...ALGORITHMS.flatMap((_, i) => [row('simulated', simulated[i]!), row('live', live[i]!)]),
  '',
];
const dir = new URL('../results/', import.meta.url);
writeFileSync(new URL('study-live.md', dir), lines.join('\n'));
writeFileSync(new URL('study-live.json', dir), `${JSON.stringify({ date: new Date().toISOString(), load, runMs: RUN_MS, simulated, live }, null, 2)}\n`);
console.log(lines.join('\n'));
