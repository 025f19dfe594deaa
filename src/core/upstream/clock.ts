/** Time as the resilience modules see it, injected so tests drive ejections, ramps and queue timeouts without waiting. */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    // A pending ejection end or queue timeout must never keep a stopping process alive (Deno's timers are plain numbers).
    (timer as { unref?: () => void }).unref?.();
    return () => clearTimeout(timer);
  },
};
