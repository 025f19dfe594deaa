/**
 * Outlier ejection on real traffic (Envoy's consecutive-failure model): a server whose own failures come
 * OUTLIER_CONSECUTIVE_FAILURES times in a row leaves rotation for OUTLIER_BASE_EJECTION_MS × the times it has been
 * ejected, capped at OUTLIER_MAX_EJECTION_MS. It replaces "one failed forward marks a server unhealthy until the next
 * passing probe": an ejection is independent of health, so a passing probe never cuts it short.
 */
import type { Logger } from '../logging.ts';
import { type Clock, systemClock } from './clock.ts';
import { type AttemptOutcome, describeOutcome, serverVerdict } from './attempt-outcome.ts';

export interface OutlierOptions {
  /** OUTLIER_CONSECUTIVE_FAILURES: server faults in a row that eject. */
  readonly consecutiveFailures: number;
  /** OUTLIER_BASE_EJECTION_MS: the first ejection's length; the n-th lasts n times this. */
  readonly baseEjectionMs: number;
  /** OUTLIER_MAX_EJECTION_MS: no ejection lasts longer. */
  readonly maxEjectionMs: number;
  /** OUTLIER_MAX_EJECTION_PERCENT: at most this share of the pool is ejected at once, but always at least one server. */
  readonly maxEjectionPercent: number;
  /** OUTLIER_COUNT_5XX: a 5xx answer counts as a failure. */
  readonly count5xx: boolean;
}

/** What the detector must know about the pool, without owning it. */
export interface OutlierPoolView<T> {
  /** Every server in the pool now (the pool may change). */
  servers(): readonly T[];
  /** True when the server takes traffic now: healthy, admin state active and not ejected. */
  inRotation(server: T): boolean;
}

export type OutlierEvent<T> =
  | { readonly type: 'ejected'; readonly server: T; readonly until: number }
  | { readonly type: 'returned'; readonly server: T };

/** Per-server figures for /lb/stats. */
export interface OutlierState {
  readonly consecutiveFailures: number;
  /** Times ejected; drives the next ejection's length. */
  readonly ejections: number;
  /** Epoch ms when the current ejection ends, or null when not ejected. */
  readonly ejectedUntil: number | null;
}

interface Record {
  consecutiveFailures: number;
  /** How the latest of those failures ended; undefined while the streak is 0. */
  lastFailure: AttemptOutcome | undefined;
  ejections: number;
  ejectedUntil: number | null;
  /** When the server last returned, for forgiving old ejections. */
  returnedAt: number;
  cancelTimer: (() => void) | undefined;
  /** A refused ejection is logged once per failure streak, not on every later failure. */
  refusalLogged: boolean;
}

export class OutlierDetector<T extends { readonly url: string }> {
  readonly #pool: OutlierPoolView<T>;
  readonly #options: OutlierOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #records = new Map<T, Record>();
  readonly #ejected = new Set<T>();
  readonly #listeners = new Set<(event: OutlierEvent<T>) => void>();

  constructor(pool: OutlierPoolView<T>, options: OutlierOptions, log: Logger, clock: Clock = systemClock) {
    this.#pool = pool;
    this.#options = options;
    this.#log = log;
    this.#clock = clock;
  }

  /** Called once per attempt, when its outcome is known (response head, or the failure). O(1) unless it ejects. */
  record(server: T, outcome: AttemptOutcome): void {
    const verdict = serverVerdict(outcome, this.#options.count5xx);
    if (verdict === 'not_counted') return;
    const record = this.#recordOf(server);
    if (verdict === 'success') {
      record.consecutiveFailures = 0;
      record.lastFailure = undefined;
      record.refusalLogged = false;
      return;
    }
    record.consecutiveFailures++;
    record.lastFailure = outcome;
    // Attempts started before an ejection may still fail after it: they neither extend it nor count towards the next.
    if (this.isEjected(server) || record.consecutiveFailures < this.#options.consecutiveFailures) return;
    const refusal = this.#refusal(server);
    if (refusal !== undefined) {
      if (!record.refusalLogged) {
        record.refusalLogged = true;
        this.#log.warn('Server {server} failed {failures} times in a row ({reason}) but stays in rotation: {refusal}', {
          event: 'ejection_refused',
          server: server.url,
          failures: record.consecutiveFailures,
          reason: describeOutcome(outcome),
          refusal,
        });
      }
      return;
    }
    this.#eject(server, record, describeOutcome(outcome));
  }

  /** True while the server is ejected. Checks the clock too, so a late or lost timer never keeps a server out. */
  isEjected(server: T): boolean {
    const record = this.#records.get(server);
    if (record?.ejectedUntil == null) return false;
    if (this.#clock.now() < record.ejectedUntil) return true;
    this.#return(server, record);
    return false;
  }

  state(server: T): OutlierState {
    this.isEjected(server);
    const record = this.#records.get(server);
    return { consecutiveFailures: record?.consecutiveFailures ?? 0, ejections: record?.ejections ?? 0, ejectedUntil: record?.ejectedUntil ?? null };
  }

  /**
   * The server's own failures in a row on real traffic now (0 after a success, an ejection or a return) and how the
   * latest of them ended. O(1): retries read it to steer away from a server that is failing.
   */
  streak(server: T): { readonly failures: number; readonly last: AttemptOutcome | undefined } {
    const record = this.#records.get(server);
    return { failures: record?.consecutiveFailures ?? 0, last: record?.lastFailure };
  }

  /** Servers ejected now. */
  get ejectedCount(): number {
    return this.#ejected.size;
  }

  /** Subscribes to ejections and returns, so selection can update its structures incrementally. Returns an unsubscribe. */
  onChange(listener: (event: OutlierEvent<T>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A server left the pool: drop its history and timer, without a 'returned' event. */
  forget(server: T): void {
    const record = this.#records.get(server);
    record?.cancelTimer?.();
    this.#records.delete(server);
    this.#ejected.delete(server);
  }

  /** Cancels every pending return timer (shutdown). */
  stop(): void {
    for (const record of this.#records.values()) record.cancelTimer?.();
  }

  #recordOf(server: T): Record {
    let record = this.#records.get(server);
    if (record === undefined) {
      record = {
        consecutiveFailures: 0,
        lastFailure: undefined,
        ejections: 0,
        ejectedUntil: null,
        returnedAt: Number.NEGATIVE_INFINITY,
        cancelTimer: undefined,
        refusalLogged: false,
      };
      this.#records.set(server, record);
    }
    return record;
  }

  /** Why this server may not be ejected now, or undefined when it may. */
  #refusal(server: T): string | undefined {
    const servers = this.#pool.servers();
    // Passive ejection never empties the pool (as in nginx): a one-server pool never ejects.
    if (!servers.some((s) => s !== server && this.#pool.inRotation(s))) return 'it is the last server in rotation';
    const limit = Math.max(1, Math.floor((servers.length * this.#options.maxEjectionPercent) / 100));
    for (const ejected of this.#ejected) this.isEjected(ejected);
    if (this.#ejected.size >= limit) {
      return `OUTLIER_MAX_EJECTION_PERCENT=${this.#options.maxEjectionPercent} allows ${limit} of ${servers.length} servers out at once`;
    }
    return undefined;
  }

  #eject(server: T, record: Record, reason: string): void {
    const now = this.#clock.now();
    const { baseEjectionMs, maxEjectionMs } = this.#options;
    // Envoy lowers the multiplier while a server behaves; here a server that stayed in for the longest ejection starts again from the base.
    if (now - record.returnedAt >= maxEjectionMs) record.ejections = 0;
    record.ejections++;
    const ms = Math.min(baseEjectionMs * record.ejections, maxEjectionMs);
    record.ejectedUntil = now + ms;
    record.refusalLogged = false;
    const failures = record.consecutiveFailures;
    record.consecutiveFailures = 0;
    record.lastFailure = undefined;
    this.#ejected.add(server);
    record.cancelTimer = this.#clock.setTimer(() => this.#return(server, record), ms);
    this.#log.warn('Server {server} ejected for {ms} ms after {failures} failures in a row ({reason}); ejection number {ejections}', {
      event: 'server_ejected',
      server: server.url,
      reason,
      failures,
      ejections: record.ejections,
      ms,
      until: new Date(record.ejectedUntil).toISOString(),
    });
    this.#emit({ type: 'ejected', server, until: record.ejectedUntil });
  }

  #return(server: T, record: Record): void {
    if (record.ejectedUntil === null || this.#records.get(server) !== record) return;
    record.cancelTimer?.();
    record.cancelTimer = undefined;
    record.ejectedUntil = null;
    record.returnedAt = this.#clock.now();
    record.consecutiveFailures = 0;
    record.lastFailure = undefined;
    this.#ejected.delete(server);
    this.#log.info('Server {server} returns to rotation: its ejection ended', { event: 'server_returned', server: server.url, ejections: record.ejections });
    this.#emit({ type: 'returned', server });
  }

  #emit(event: OutlierEvent<T>): void {
    for (const listener of this.#listeners) listener(event);
  }
}
