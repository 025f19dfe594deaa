/**
 * One timer for every configured limit, deadlines and gaps between bytes alike, that keeps the configuration's
 * rule in one place: a limit of 0 means no limit, so no timer is ever armed for it.
 *
 * Every LimitTimer of one duration shares one runtime timer. A limit is the same for every request (UPSTREAM_TIMEOUT_MS,
 * CLIENT_BODY_TIMEOUT_MS, UPSTREAM_READ_TIMEOUT_MS), so timers started later always expire later: a list in start
 * order is also in expiry order, restarting moves a timer to the end and cancelling unlinks it, both O(1) and without
 * allocating (an IntrusiveList threaded through the timers), and one `setTimeout` for the list's first deadline serves
 * all of them (the layout of Node's own timer lists). A `setTimeout` per start, as before, cost each request two timer
 * objects, their priority-queue inserts and the clears (issue 12's profile). Written by hand: no timer-wheel package on
 * npm is Web-standard-only, and this is a linked list and one timer.
 */
import { IntrusiveList, type ListLinks } from './intrusive-list.ts';

/** An owner with several limits: one method told which limit expired, instead of a closure per limit and owner. */
export interface LimitOwner {
  limitExpired(reason: unknown): void;
}

export class LimitTimer implements ListLinks<LimitTimer> {
  readonly ms: number;
  readonly #onExpire: (() => void) | LimitOwner;
  readonly #reason: unknown;
  readonly #list: TimerList | undefined;
  #expired = false;
  // Its place in its TimerList (below), for that list only: `performance.now()` at which it expires, and its neighbours.
  deadline = 0;
  listPrevious: LimitTimer | undefined = undefined;
  listNext: LimitTimer | undefined = undefined;

  /** `ms` as configured (0: no limit); `onExpire` runs at most once (an owner's `limitExpired(reason)`). */
  constructor(ms: number, onExpire: (() => void) | LimitOwner, reason?: unknown) {
    this.ms = ms;
    this.#onExpire = onExpire;
    this.#reason = reason;
    this.#list = ms > 0 ? listFor(ms) : undefined;
  }

  get limited(): boolean {
    return this.ms > 0;
  }

  get expired(): boolean {
    return this.#expired;
  }

  /** Starts the timer, or starts it again from now: call it on each chunk to limit the gap between chunks. */
  restart(): void {
    const list = this.#list;
    if (list === undefined || this.#expired) return;
    list.unlink(this);
    this.deadline = performance.now() + this.ms;
    list.append(this);
  }

  cancel(): void {
    this.#list?.unlink(this);
  }

  /** Called by its list once the deadline has passed (it is already unlinked). */
  expire(): void {
    this.#expired = true;
    const onExpire = this.#onExpire;
    if (typeof onExpire === 'function') onExpire();
    else onExpire.limitExpired(this.#reason);
  }
}

/** The running timers of one duration, in expiry order, and the one runtime timer armed for the first of them. */
class TimerList {
  readonly #ms: number;
  readonly #timers = new IntrusiveList<LimitTimer>();
  #handle: ReturnType<typeof setTimeout> | undefined;
  /** The list is empty and `#handle`, still pending, no longer keeps the process alive (see `unlink`). */
  #idle = false;

  constructor(ms: number) {
    this.#ms = ms;
  }

  append(timer: LimitTimer): void {
    this.#timers.append(timer);
    // A timer armed for an earlier first deadline stays right: everything appended expires later.
    if (this.#handle === undefined) this.#handle = setTimeout(this.#fire, this.#ms);
    else if (this.#idle) {
      this.#idle = false;
      (this.#handle as unknown as Unrefable).ref();
    }
  }

  /** Takes a timer off the list, if it is on it. */
  unlink(timer: LimitTimer): void {
    if (!this.#timers.delete(timer)) return;
    // Nothing left to wait for: no runtime timer may keep the process (or a test) alive for a limit nobody has. Where
    // the runtime's timer can be unref'd (Node, Bun) it stays pending instead, so a request that follows one that just
    // ended (most requests, under load) arms nothing; it fires once, finds nothing due, and stops. Elsewhere it goes.
    if (this.#timers.size === 0 && this.#handle !== undefined && !this.#idle) {
      const handle = this.#handle as unknown as Partial<Unrefable>;
      if (typeof handle.unref === 'function' && typeof handle.ref === 'function') {
        handle.unref();
        this.#idle = true;
      } else {
        clearTimeout(this.#handle);
        this.#handle = undefined;
      }
    }
  }

  readonly #fire = (): void => {
    this.#handle = undefined;
    this.#idle = false;
    const now = performance.now();
    try {
      // One at a time: a callback may cancel or restart another timer of this list, as it could with its own setTimeout.
      for (let timer = this.#timers.first; timer !== undefined && timer.deadline <= now; timer = this.#timers.first) {
        this.unlink(timer);
        timer.expire();
      }
    } finally {
      // The runtime's timer may fire a little before performance.now() says the time is up: then it waits out the rest.
      const first = this.#timers.first;
      if (first !== undefined && this.#handle === undefined) this.#handle = setTimeout(this.#fire, Math.max(1, Math.ceil(first.deadline - now)));
    }
  };
}

/** Node's and Bun's timer objects: `unref()` lets the process exit while only this timer is pending. */
interface Unrefable {
  ref(): void;
  unref(): void;
}

const lists = new Map<number, TimerList>();
const listFor = (ms: number): TimerList => {
  let list = lists.get(ms);
  if (list === undefined) lists.set(ms, list = new TimerList(ms));
  return list;
};
