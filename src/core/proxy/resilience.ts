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

/** Failure streaks count up to this in a retry's rank; each criterion above them weighs a power of it more. */
const RANK_STEP = 1_000;

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
   * Where a retry goes: a server in rotation (or any, in panic) with room under MAX_REQUESTS_PER_SERVER. One this
   * request has not tried comes first: one that is not failing before one whose failures in a row are fewer, and any
   * of those before one refusing connections (a server that is stopping refuses new connections while it is still in
   * rotation), then the least loaded. Only when none is left does a retry go back to a server already tried, and only
   * to one whose latest failure was a reset, the server that has just failed included: a reset on a kept-alive
   * connection the server was closing at that moment (Bun reuses idle connections past the server's
   * `Keep-Alive: timeout`; any client meets it when a stopping server closes its idle connections) is cured by a new
   * connection to that same server, which during a rolling restart may be the only one left. A server that refused
   * the connection or timed out would only do it again. Envoy's retries may go back to a host too; RETRIES and
   * RETRY_DEADLINE_MS still bound them. O(n), but only on the failure path.
   */
  retryTarget(tried: readonly UpstreamServer[]): UpstreamServer | undefined {
    const { pool, queue } = this.parts;
    const panic = this.inPanic();
    let best: UpstreamServer | undefined;
    let bestRank = Number.POSITIVE_INFINITY;
    for (const server of pool.servers) {
      if (!queue.hasRoom(server.inFlight)) continue;
      if (!panic && !pool.isAvailable(server)) continue;
      const rank = this.#retryRank(server, tried);
      if (rank === Number.POSITIVE_INFINITY) continue;
      if (rank < bestRank || (rank === bestRank && server.inFlight < best!.inFlight)) {
        best = server;
        bestRank = rank;
      }
    }
    return best;
  }

  /** Lower is better; infinite for a server tried already that a new connection would not cure. */
  #retryRank(server: UpstreamServer, tried: readonly UpstreamServer[]): number {
    const streak = this.parts.outliers?.streak(server);
    const failures = Math.min(streak?.failures ?? 0, RANK_STEP - 1);
    const last = streak?.last?.kind === 'failure' ? streak.last.failure : undefined;
    if (tried.includes(server)) return last === 'reset' ? RANK_STEP * RANK_STEP + failures : Number.POSITIVE_INFINITY;
    return (last === 'connect_refused' || last === 'connect_timeout' ? RANK_STEP : 0) + failures;
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
