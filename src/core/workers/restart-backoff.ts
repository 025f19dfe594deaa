/** How long the supervisor waits before restarting a worker that keeps crashing. */

/** First restart after 100 ms, doubling per crash in a row, never more than 5 s apart. */
export const RESTART_BASE_MS = 100;
export const RESTART_MAX_MS = 5_000;
/** A worker that served this long before dying starts the backoff over. */
export const STABLE_AFTER_MS = 30_000;

/** Delay before restarting a worker that has crashed `crashesInARow` times (1 for the first). */
export function restartDelayMs(crashesInARow: number): number {
  const n = Math.max(1, Math.floor(crashesInARow));
  return Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.min(n - 1, 20));
}

/** The crash count after a worker that ran for `uptimeMs` died, given the count before. */
export function nextCrashCount(previous: number, uptimeMs: number): number {
  return uptimeMs >= STABLE_AFTER_MS ? 1 : previous + 1;
}
