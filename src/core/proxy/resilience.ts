/**
 * The resilience parts one Exchange consults (issue 9), wired once at startup: outlier detection fed by every
 * attempt's outcome, the retry policy and its budget, the admission queue (MAX_REQUESTS_PER_SERVER), the panic
 * threshold and the per-server retry counts /lb/stats shows. The Exchange and Admission call it in a few lines.
 */
import type { AttemptOutcome } from '../upstream/attempt-outcome.ts';
import type { InFlightTracker } from '../upstream/in-flight.ts';
import type { OutlierDetector } from '../upstream/outlier-detector.ts';
import { inPanic } from '../upstream/panic-threshold.ts';
import type { ServerPool } from '../upstream/server-pool.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import type { AdmissionQueue } from './admission-queue.ts';
import type { RetryDecision, RetryPolicy, RetryQuestion } from './retry-policy.ts';

export interface ResilienceParts {
  readonly pool: ServerPool;
  readonly inFlight: InFlightTracker;
  /** Undefined when OUTLIER_CONSECUTIVE_FAILURES=0. */
  readonly outliers: OutlierDetector<UpstreamServer> | undefined;
  readonly retry: RetryPolicy;
  readonly queue: AdmissionQueue;
  /** RETRY_BUFFER_BYTES. */
  readonly retryBufferBytes: number;
  /** PANIC_THRESHOLD_PERCENT; 0 is off. */
  readonly panicThresholdPercent: number;
}

/** Retries per server, for /lb/stats: sent to it as a retry, and moved away from it after its attempt failed. */
export interface RetryCounts {
  to: number;
  away: number;
}

export class Resilience {
  readonly parts: ResilienceParts;
  readonly #retries = new WeakMap<UpstreamServer, RetryCounts>();

  constructor(parts: ResilienceParts) {
    this.parts = parts;
  }

  /** Each attempt's outcome, exactly once: what outlier detection learns from. */
  record(server: UpstreamServer, outcome: AttemptOutcome): void {
    this.parts.outliers?.record(server, outcome);
  }

  /** Asked once per failed attempt before anything reached the client. */
  decide(question: RetryQuestion): RetryDecision {
    return this.parts.retry.decide(question, this.parts.inFlight.total);
  }

  /**
   * Another server for a retry: in rotation (or any, in panic), not tried yet, with room under
   * MAX_REQUESTS_PER_SERVER; the least loaded. O(n), but only on the failure path.
   */
  retryTarget(tried: readonly UpstreamServer[]): UpstreamServer | undefined {
    const { pool, queue } = this.parts;
    const panic = this.inPanic();
    let best: UpstreamServer | undefined;
    for (const server of pool.servers) {
      if (tried.includes(server) || !queue.hasRoom(server.inFlight)) continue;
      if (!panic && !pool.isAvailable(server)) continue;
      if (best === undefined || server.inFlight < best.inFlight) best = server;
    }
    return best;
  }

  /** While under PANIC_THRESHOLD_PERCENT: balance over every server (Envoy's panic mode). */
  inPanic(): boolean {
    const { pool, panicThresholdPercent } = this.parts;
    return inPanic(pool.availableCount, pool.servers.length, panicThresholdPercent);
  }

  /** In panic, the least loaded of every server, healthy or not (O(n): only while the pool is mostly out). */
  panicPick(): UpstreamServer | undefined {
    let best: UpstreamServer | undefined;
    for (const server of this.parts.pool.servers) if (best === undefined || server.inFlight < best.inFlight) best = server;
    return best;
  }

  /** A retry moved a request from `from` to `to`. */
  retried(from: UpstreamServer, to: UpstreamServer): void {
    this.#countsOf(from).away++;
    this.#countsOf(to).to++;
  }

  retryCounts(server: UpstreamServer): RetryCounts {
    return { ...this.#countsOf(server) };
  }

  #countsOf(server: UpstreamServer): RetryCounts {
    let counts = this.#retries.get(server);
    if (counts === undefined) this.#retries.set(server, counts = { to: 0, away: 0 });
    return counts;
  }
}
