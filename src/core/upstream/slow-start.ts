/**
 * Slow start (Envoy's formula): a server returning to rotation gets weight × max(minPercent / 100,
 * (elapsed / SLOW_START_MS) ^ (1 / aggression)) until SLOW_START_MS has passed, so a cold server is not handed its
 * full share at once. It applies wherever weight applies (weighted round robin, least connections, least response time).
 */
import { type Clock, systemClock } from './clock.ts';

/** Envoy's defaults: a linear ramp (aggression 1) from 10% of the weight. */
export const SLOW_START_MIN_PERCENT = 10;
export const SLOW_START_AGGRESSION = 1;

/** The share of its weight a server gets `elapsedMs` into a ramp of `windowMs`: from minPercent up to 1. */
export function slowStartFactor(elapsedMs: number, windowMs: number, aggression = SLOW_START_AGGRESSION, minPercent = SLOW_START_MIN_PERCENT): number {
  if (windowMs <= 0 || elapsedMs >= windowMs) return 1;
  const timeFactor = Math.max(elapsedMs, 1) / windowMs;
  return Math.max(minPercent / 100, timeFactor ** (1 / aggression));
}

/** Which servers are ramping, since when. Lazy: nothing runs between calls, and a finished ramp is forgotten when next read. */
export class SlowStart<T extends object> {
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #since = new WeakMap<T, number>();

  constructor(windowMs: number, clock: Clock = systemClock) {
    this.#windowMs = windowMs;
    this.#clock = clock;
  }

  get enabled(): boolean {
    return this.#windowMs > 0;
  }

  /** The server has just returned to rotation (health rose, ejection ended, added, or admin-enabled). */
  enter(server: T): void {
    if (this.enabled) this.#since.set(server, this.#clock.now());
  }

  /** The server left rotation: a later return starts a new ramp, and an unfinished one is dropped. */
  leave(server: T): void {
    this.#since.delete(server);
  }

  /** Share of its weight the server gets now: 1 unless ramping. */
  factor(server: T): number {
    const since = this.#since.get(server);
    if (since === undefined) return 1;
    const factor = slowStartFactor(this.#clock.now() - since, this.#windowMs);
    if (factor >= 1) this.#since.delete(server);
    return factor;
  }

  effectiveWeight(server: T, weight: number): number {
    return weight * this.factor(server);
  }

  /** Milliseconds until the ramp ends, 0 when not ramping: selection structures that cache weights refresh until then. */
  remainingMs(server: T): number {
    const since = this.#since.get(server);
    return since === undefined ? 0 : Math.max(0, since + this.#windowMs - this.#clock.now());
  }
}
