/** A clock whose time moves only when a test says, firing the timers that come due, in order. */
import type { Clock } from '../../src/core/upstream/clock.ts';

export class FakeClock implements Clock {
  time = 1_000_000;
  readonly timers = new Set<{ at: number; fn: () => void }>();
  now = (): number => this.time;
  setTimer = (fn: () => void, ms: number): () => void => {
    const timer = { at: this.time + ms, fn };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  };
  advance(ms: number): void {
    this.time += ms;
    for (const timer of [...this.timers].sort((a, b) => a.at - b.at)) {
      if (timer.at > this.time) continue;
      this.timers.delete(timer);
      timer.fn();
    }
  }
}
