/**
 * Overload (HAProxy's maxconn and queue): with MAX_REQUESTS_PER_SERVER set, a request that finds every server at its
 * cap waits in a bounded FIFO queue for up to QUEUE_TIMEOUT_MS, then gets 503 with Retry-After. A released lease
 * wakes the oldest waiter, which then selects again.
 */
import { type Clock, systemClock } from '../upstream/clock.ts';

/** How a wait ended: woken by a release, out of time, refused because the queue was full, or the client left. */
export type WaitResult = 'ready' | 'timeout' | 'full' | 'aborted';

export interface AdmissionQueueOptions {
  /** MAX_REQUESTS_PER_SERVER, or undefined for no cap (then nothing ever waits). */
  readonly maxRequestsPerServer: number | undefined;
  /** QUEUE_TIMEOUT_MS: the longest a request waits. */
  readonly timeoutMs: number;
  /** QUEUE_MAX_LENGTH: more waiters than this are refused at once. */
  readonly maxLength: number;
}

interface Waiter {
  resolve(result: WaitResult): void;
}

export class AdmissionQueue {
  readonly options: AdmissionQueueOptions;
  readonly #clock: Clock;
  /** Insertion-ordered, so the first entry is the oldest waiter; removal of any entry is O(1). */
  readonly #waiters = new Set<Waiter>();

  constructor(options: AdmissionQueueOptions, clock: Clock = systemClock) {
    this.options = options;
    this.#clock = clock;
  }

  /** True when a server with this many requests in flight may take another. */
  hasRoom(inFlight: number): boolean {
    const cap = this.options.maxRequestsPerServer;
    return cap === undefined || inFlight < cap;
  }

  /** Waiters now. A new request must queue behind them even if a server has room, or it would overtake them. */
  get length(): number {
    return this.#waiters.size;
  }

  /** Seconds for the 503's Retry-After (RFC 9110 §10.2.3): the queue timeout, rounded up, at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.options.timeoutMs / 1000));
  }

  /** Waits for a release, up to `timeoutMs`; the client leaving (`signal`) ends the wait at once. */
  wait(signal?: AbortSignal, timeoutMs = this.options.timeoutMs): Promise<WaitResult> {
    if (signal?.aborted) return Promise.resolve('aborted');
    if (this.#waiters.size >= this.options.maxLength) return Promise.resolve('full');
    return new Promise<WaitResult>((resolve) => {
      const finish = (result: WaitResult) => {
        if (!this.#waiters.delete(waiter)) return;
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const waiter: Waiter = { resolve: finish };
      const onAbort = () => finish('aborted');
      this.#waiters.add(waiter);
      const cancelTimer = this.#clock.setTimer(() => finish('timeout'), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A lease was released, so a server may have room: wake the oldest waiter. Call it on every release. */
  released(): void {
    // Nearly always nobody waits: no iterator over the empty set on every request's exit.
    if (this.#waiters.size === 0) return;
    const [oldest] = this.#waiters;
    oldest?.resolve('ready');
  }

  /** Ends every wait with 'timeout' (shutdown): each gets its 503 at once instead of at its deadline. */
  rejectAll(): void {
    for (const waiter of [...this.#waiters]) waiter.resolve('timeout');
  }
}
