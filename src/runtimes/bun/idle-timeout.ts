/** Bun.serve's one connection timer (`idleTimeout`, whole seconds, at most 255) from Fairway's client limits. */
import type { ClientConnectionLimits } from '../../core/runtime/contracts.ts';

/** Bun refuses an idleTimeout above 255 s. */
export const BUN_MAX_IDLE_SECONDS = 255;

/**
 * The smallest of CLIENT_HEADER_TIMEOUT_MS and CLIENT_KEEPALIVE_TIMEOUT_MS that is set, rounded up to whole
 * seconds and capped at 255 (0: no timer). Bun has one timer for a silent connection, whatever it waits for,
 * so the stricter limit applies to both (README, per-runtime table). While a request is being forwarded the
 * timer is switched off for it (`server.timeout(request, 0)`): the body and upstream limits are Fairway's own.
 */
export function bunIdleTimeoutSeconds(limits: ClientConnectionLimits | undefined): number {
  const set = [limits?.headerTimeoutMs ?? 0, limits?.keepAliveTimeoutMs ?? 0].filter((ms) => ms > 0);
  if (set.length === 0) return 0;
  return Math.min(BUN_MAX_IDLE_SECONDS, Math.max(1, Math.ceil(Math.min(...set) / 1000)));
}
