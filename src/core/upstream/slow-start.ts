/**
 * Slow start (Envoy's formula): a server returning to rotation gets weight × max(minPercent / 100,
 * (elapsed / SLOW_START_MS) ^ (1 / aggression)) until SLOW_START_MS has passed, so a cold server is not handed its
 * full share at once. The pool starts and ends ramps and hands selection the ramped weight (ServerPool.selectionWeight), so
 * it applies wherever weight applies, and algorithms never learn why a weight is what it is.
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

/**
 * While slow start is on, the weights selection uses are whole hundredths of a configured weight: integers (weighted
 * round robin's schedule needs them; scaling every weight by one factor leaves each algorithm's choices as they were),
 * so a ramp moves in steps of 1%.
 */
export const SLOW_START_WEIGHT_SCALE = 100;

/** A ramp is applied to selection's cached weights this many times over SLOW_START_MS (and once more when it ends). */
export const SLOW_START_REFRESH_STEPS = 100;

/** Which servers are ramping, since when. Lazy: nothing runs between calls; a finished ramp ends at the next `refresh`. */
export class SlowStart<T extends object> {
  readonly #windowMs: number;
  readonly #clock: Clock;
  /** A Map, not a WeakMap, so `refresh` can visit the ramps; the pool calls `leave` when a server is removed. */
  readonly #since = new Map<T, number>();

  constructor(windowMs: number, clock: Clock = systemClock) {
    this.#windowMs = windowMs;
    this.#clock = clock;
  }

  get enabled(): boolean {
    return this.#windowMs > 0;
  }

  /** Servers ramping now (a ramp past its end counts until the next `refresh`). */
  get ramping(): number {
    return this.#since.size;
  }

  /** How often selection should re-read a ramping server's weight, in ms. */
  get refreshEveryMs(): number {
    return this.#windowMs / SLOW_START_REFRESH_STEPS;
  }

  now(): number {
    return this.#clock.now();
  }

  /** The server has just returned to rotation (health rose, ejection ended, added, or admin-enabled). */
  enter(server: T): void {
    if (this.enabled) this.#since.set(server, this.#clock.now());
  }

  /** The server left rotation or the pool: a later return starts a new ramp, and an unfinished one is dropped. */
  leave(server: T): void {
    this.#since.delete(server);
  }

  /** Share of its weight the server gets now: 1 unless ramping. Pure: a finished ramp reads 1 until `refresh` drops it. */
  factor(server: T): number {
    const since = this.#since.get(server);
    return since === undefined ? 1 : slowStartFactor(this.#clock.now() - since, this.#windowMs);
  }

  effectiveWeight(server: T, weight: number): number {
    return weight * this.factor(server);
  }

  /** The weight selection uses: the configured one when slow start is off, else in SLOW_START_WEIGHT_SCALE units, ramped. */
  selectionWeight(server: T, weight: number): number {
    if (!this.enabled) return weight;
    return Math.max(1, Math.round(weight * SLOW_START_WEIGHT_SCALE * this.factor(server)));
  }

  /**
   * Calls `visit` for every ramping server, with when its ramp began, so structures that cache weights re-read them; a
   * ramp that has ended is visited once more (its full weight) and then dropped.
   */
  refresh(visit: (server: T, since: number) => void): void {
    const now = this.#clock.now();
    for (const [server, since] of this.#since) {
      visit(server, since);
      if (now - since >= this.#windowMs) this.#since.delete(server);
    }
  }

  /** Milliseconds until the ramp ends, 0 when not ramping: selection structures that cache weights refresh until then. */
  remainingMs(server: T): number {
    const since = this.#since.get(server);
    return since === undefined ? 0 : Math.max(0, since + this.#windowMs - this.#clock.now());
  }
}
