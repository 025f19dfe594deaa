/** A seeded discrete-event simulation of the balancer in front of the study's servers: the real algorithms, a simulated clock. */
import type { AlgorithmName } from '../../src/core/selection/algorithm.ts';
import { createSelector } from '../../src/core/selection/selector.ts';
import { seededRandom } from '../../src/core/selection/seeded-random.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';
import type { UpstreamServer } from '../../src/core/upstream/upstream-server.ts';
import { LOAD, SERVERS, type SimServer } from './scenario.ts';

export interface AlgorithmResult {
  readonly algorithm: AlgorithmName;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errorRate: number;
  /** Share of requests each server got, in SERVERS order. */
  readonly share: readonly number[];
}

interface Event {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Min-heap of events by time (then insertion order, so equal times stay deterministic). */
class EventQueue {
  readonly #heap: Event[] = [];
  #seq = 0;
  push(at: number, run: () => void): void {
    const heap = this.#heap;
    heap.push({ at, seq: this.#seq++, run });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }
  pop(): Event | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && earlier(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && earlier(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}
const earlier = (a: Event, b: Event): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** Exponential with the given mean: service times vary as they do on real servers. */
const exponential = (random: () => number, mean: number): number => -Math.log(1 - random()) * mean;

/** `load` defaults to the study's; the live check (live.ts) simulates its own shorter run with it. */
export function simulate(algorithm: AlgorithmName, load: Pick<typeof LOAD, 'ratePerSecond' | 'durationMs' | 'users' | 'seed'> = LOAD): AlgorithmResult {
  // Separate streams, so every algorithm sees exactly the same arrivals, users and service times.
  const arrivals = seededRandom(load.seed);
  const service = seededRandom(load.seed + 1);
  const failures = seededRandom(load.seed + 2);
  let now = 0;
  const pool = new ServerPool(SERVERS.map((_server, i) => ({ url: `http://10.9.0.${i + 1}:80`, weight: 1 })));
  const selector = createSelector(pool, { algorithm, hashFallback: 'round_robin', random: seededRandom(load.seed + 3), now: () => now });
  const events = new EventQueue();
  const busy = SERVERS.map(() => 0);
  const queues: (() => void)[][] = SERVERS.map(() => []);
  const latencies: number[] = [];
  const counts = SERVERS.map(() => 0);
  let errors = 0;

  const finish = (server: UpstreamServer, sim: SimServer, index: number, sentAt: number, failed: boolean) => {
    server.inFlight--;
    selector.loadChanged(server);
    const ms = now - sentAt;
    selector.responded(server, ms);
    latencies.push(ms);
    if (failed) errors++;
    busy[index]!--;
    const next = queues[index]!.shift();
    if (next !== undefined) next();
    void sim;
  };

  const dispatch = (user: number) => {
    const server = selector.pick({ hashKey: `user-${user}` });
    if (server === undefined) return;
    const index = server.id;
    const sim = SERVERS[index]!;
    counts[index]!++;
    server.inFlight++;
    selector.loadChanged(server);
    const sentAt = now;
    const start = () => {
      busy[index]!++;
      const failed = failures() < sim.failureRate;
      const duration = failed ? 2 : exponential(service, sim.meanMs(now));
      events.push(now + duration, () => finish(server, sim, index, sentAt, failed));
    };
    if (busy[index]! < sim.workers) start();
    else queues[index]!.push(start);
  };

  const arrive = () => {
    dispatch(Math.floor(arrivals() * load.users));
    const next = now + exponential(arrivals, 1000 / load.ratePerSecond);
    if (next < load.durationMs) events.push(next, arrive);
  };
  events.push(0, arrive);
  for (let event = events.pop(); event !== undefined; event = events.pop()) {
    now = event.at;
    event.run();
  }
  selector.close();

  latencies.sort((a, b) => a - b);
  const rank = (p: number): number => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]!;
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    algorithm,
    requests: total,
    p50Ms: rank(0.5),
    p99Ms: rank(0.99),
    errorRate: errors / total,
    share: counts.map((c) => c / total),
  };
}
