/**
 * When a failed attempt may be tried again on another server: only before any response byte reached the client,
 * only for failures a retry can fix, only for methods safe to repeat (or requests that never reached the server),
 * only with a body that can be replayed, within RETRIES, an overall deadline and Envoy's retry budget.
 * Pure: the lifecycle asks, and does the retrying.
 */
import { matchesStatus, type StatusList } from '../config/status-list.ts';
import type { AttemptOutcome } from '../upstream/attempt-outcome.ts';

export interface RetryOptions {
  /** RETRIES: tries after the first. */
  readonly retries: number;
  /** RETRY_ON_STATUS: answers retried like failures (for servers that answer 503 while they drain). */
  readonly retryOnStatus: StatusList;
  /** RETRY_DEADLINE_MS: no new try starts once this long has passed since the first; 0 means no overall limit. */
  readonly deadlineMs: number;
  /** RETRY_BUDGET_PERCENT: retries in flight may not exceed this share of requests in flight... */
  readonly budgetPercent: number;
  /**
   * ...but this many are always allowed, so a quiet proxy can still retry. Envoy's min_retry_concurrency is 3; 10 here,
   * because a server that hangs catches every client within one UPSTREAM_TIMEOUT_MS, and a handful of clients all
   * timing out at once must all be retried (issue 9's hang scenario). Ten retries in flight are no storm.
   */
  readonly budgetFloor?: number;
}

export const DEFAULT_RETRY_BUDGET_FLOOR = 10;

/**
 * Idempotent methods (RFC 9110 §9.2.2) that Fairway forwards; TRACE is idempotent too but refused with 405. Method
 * names are case-sensitive (RFC 9110 §9.1): `get` is not GET, so it is not assumed safe to repeat.
 */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
export const isIdempotent = (method: string): boolean => IDEMPOTENT.has(method);

/** What the lifecycle knows when an attempt has ended without a response passed to the client. */
export interface RetryQuestion {
  readonly method: string;
  readonly outcome: AttemptOutcome;
  /** Tries made so far, the one that just ended included (1 after the first). */
  readonly tries: number;
  /** True once any byte of a response (head included) has been sent to the client: never retry then. */
  readonly responseStarted: boolean;
  /** True when the request has no body, or its body was buffered whole and can be sent again. */
  readonly bodyReplayable: boolean;
  /** Since the first try started. */
  readonly elapsedMs: number;
  /** True when selection has a server in rotation that this request has not tried yet. */
  readonly otherServerAvailable: boolean;
}

export type NoRetryReason =
  | 'not_a_failure'
  | 'response_started'
  | 'not_retryable'
  | 'method_not_idempotent'
  | 'body_not_replayable'
  | 'retries_exhausted'
  | 'deadline_passed'
  | 'no_other_server'
  | 'budget_exhausted';

export type RetryDecision = { readonly retry: true; readonly token: RetryToken } | { readonly retry: false; readonly reason: NoRetryReason };

/** A retry counted against the budget while its attempt is in flight; release it when that attempt's exchange ends. */
export interface RetryToken {
  /** Idempotent. */
  release(): void;
}

/** Whether the outcome is one a retry could fix, and whether the request certainly never reached the server. */
function classify(outcome: AttemptOutcome, retryOnStatus: StatusList): 'never_reached' | 'maybe_reached' | 'final' {
  if (outcome.kind === 'response') return matchesStatus(retryOnStatus, outcome.status) ? 'maybe_reached' : 'final';
  switch (outcome.failure) {
    case 'connect_refused':
    case 'connect_timeout':
      return 'never_reached';
    case 'reset':
    case 'upstream_timeout':
      return 'maybe_reached';
    // Neither is the server's doing: another server would get the same request, or the client is gone.
    case 'not_sent':
    case 'client_fault':
      return 'final';
  }
}

/** The rules without the budget, in the order a reader would check them. */
export function retryRule(q: RetryQuestion, options: Omit<RetryOptions, 'budgetPercent' | 'budgetFloor'>): NoRetryReason | undefined {
  if (q.responseStarted) return 'response_started';
  const kind = classify(q.outcome, options.retryOnStatus);
  if (kind === 'final') return q.outcome.kind === 'response' ? 'not_a_failure' : 'not_retryable';
  if (kind === 'maybe_reached' && !isIdempotent(q.method)) return 'method_not_idempotent';
  if (!q.bodyReplayable) return 'body_not_replayable';
  if (q.tries > options.retries) return 'retries_exhausted';
  if (options.deadlineMs > 0 && q.elapsedMs >= options.deadlineMs) return 'deadline_passed';
  if (!q.otherServerAvailable) return 'no_other_server';
  return undefined;
}

/**
 * Envoy's retry budget: retries in flight may not exceed RETRY_BUDGET_PERCENT of requests in flight, with a floor, so
 * a sick pool cannot turn every request into three.
 */
export class RetryBudget {
  readonly #percent: number;
  readonly #floor: number;
  #active = 0;

  constructor(percent: number, floor = DEFAULT_RETRY_BUDGET_FLOOR) {
    this.#percent = percent;
    this.#floor = floor;
  }

  /** Retries in flight now. */
  get active(): number {
    return this.#active;
  }

  /** The most retries allowed in flight alongside `requestsInFlight` requests. */
  limit(requestsInFlight: number): number {
    return Math.max(this.#floor, Math.floor((requestsInFlight * this.#percent) / 100));
  }

  tryAcquire(requestsInFlight: number): RetryToken | undefined {
    if (this.#active >= this.limit(requestsInFlight)) return undefined;
    this.#active++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#active--;
      },
    };
  }
}

export class RetryPolicy {
  readonly options: RetryOptions;
  readonly budget: RetryBudget;

  constructor(options: RetryOptions) {
    this.options = options;
    this.budget = new RetryBudget(options.budgetPercent, options.budgetFloor);
  }

  /** Asked once per ended attempt. A yes carries a budget token the lifecycle releases when the retried attempt ends. */
  decide(q: RetryQuestion, requestsInFlight: number): RetryDecision {
    const reason = retryRule(q, this.options);
    if (reason !== undefined) return { retry: false, reason };
    const token = this.budget.tryAcquire(requestsInFlight);
    return token === undefined ? { retry: false, reason: 'budget_exhausted' } : { retry: true, token };
  }
}
