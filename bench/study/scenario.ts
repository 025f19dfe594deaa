/** The study's servers and load: one normal, one 5× slower, one with latency spikes, one with fewer workers, one failing 5%. */

export interface SimServer {
  readonly name: string;
  readonly description: string;
  /** Requests it serves at once; more wait in its queue (FIFO). */
  readonly workers: number;
  /** Mean service time in ms at time `t` (ms since the start). */
  meanMs(t: number): number;
  /** Share of requests answered with a 500 (fast: after 2 ms). */
  readonly failureRate: number;
}

/** Latency spikes: every 4 s, the spiky server is 20× slower for 500 ms. */
const spiking = (t: number): boolean => t % 4000 < 500;

export const SERVERS: readonly SimServer[] = [
  { name: 'normal', description: '10 ms, 8 workers', workers: 8, meanMs: () => 10, failureRate: 0 },
  { name: 'slow', description: '5× slower: 50 ms, 8 workers', workers: 8, meanMs: () => 50, failureRate: 0 },
  { name: 'spiky', description: '10 ms, but 200 ms for 0.5 s every 4 s', workers: 8, meanMs: (t) => (spiking(t) ? 200 : 10), failureRate: 0 },
  { name: 'few-workers', description: '10 ms, 2 workers', workers: 2, meanMs: () => 10, failureRate: 0 },
  { name: 'flaky', description: '10 ms, 8 workers, 5% of requests fail (500)', workers: 8, meanMs: () => 10, failureRate: 0.05 },
];

export const LOAD = {
  /**
   * Poisson arrivals per second: 22% of the five servers' combined capacity outside spikes (2,760/s), and low
   * enough that an even split gives the slow server 120 of the 160 requests/s it can serve (a faster rate
   * overloads it under round robin, and p99 grows with the length of the run).
   */
  ratePerSecond: 600,
  durationMs: 30_000,
  /** Requests carry one of this many user ids (consistent_hash hashes it). */
  users: 2000,
  seed: 20261201,
};
