/** Polling with a deadline, used instead of fixed sleeps. */

export interface PollOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 25 ms). */
  intervalMs?: number;
  /** Included in the timeout error. */
  description?: string;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Calls `fn` until it returns a value other than `undefined`/`false` (and does not throw),
 * then resolves with that value. On timeout, rejects with the description, the last value
 * and the last error seen, so a failure says what was observed.
 */
export async function pollUntil<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  opts: PollOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const intervalMs = opts.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) break;
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const why = lastError instanceof Error ? lastError.message : lastError === undefined ? 'condition never held' : String(lastError);
  throw new Error(`pollUntil timed out after ${timeoutMs} ms (${attempts} attempts)${opts.description ? `: ${opts.description}` : ''} — last: ${why}`);
}

/** Like pollUntil but `check` asserts (throws) until it holds; the last assertion error is reported. */
export async function eventually(check: () => void | Promise<void>, opts: PollOptions = {}): Promise<void> {
  await pollUntil(async () => {
    await check();
    return true;
  }, opts);
}

/** Resolves like `promise`, or rejects after `timeoutMs` (timer cleared either way). */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, description: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${description}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Per-test safety net (node:test `timeout`): no test may hang the suite, whatever awaits inside it. */
export const TEST_TIMEOUT_MS = Number(process.env.FAIRWAY_TEST_TIMEOUT_MS ?? 60_000);
