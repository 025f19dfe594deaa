/**
 * One timer for every configured limit, deadlines and gaps between bytes alike, that keeps the configuration's
 * rule in one place: a limit of 0 means no limit, so no timer is ever armed for it.
 */
export class LimitTimer {
  readonly ms: number;
  readonly #onExpire: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expired = false;

  /** `ms` as configured (0: no limit); `onExpire` runs at most once. */
  constructor(ms: number, onExpire: () => void) {
    this.ms = ms;
    this.#onExpire = onExpire;
  }

  get limited(): boolean {
    return this.ms > 0;
  }

  get expired(): boolean {
    return this.#expired;
  }

  /** Starts the timer, or starts it again from now: call it on each chunk to limit the gap between chunks. */
  restart(): void {
    if (this.ms <= 0 || this.#expired) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#expired = true;
      this.#onExpire();
    }, this.ms);
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
