/**
 * Envoy's panic threshold (PANIC_THRESHOLD_PERCENT): while the share of servers in rotation is below it, balance over
 * every server, healthy or not, because the few left would be overwhelmed and health may be what is wrong. 0, the
 * default, turns it off: with no server in rotation Fairway fails fast with 503.
 */

/** True when `inRotation` of `total` servers is below `thresholdPercent`; never when the threshold is 0. */
export function inPanic(inRotation: number, total: number, thresholdPercent: number): boolean {
  return thresholdPercent > 0 && total > 0 && inRotation * 100 < total * thresholdPercent;
}

/** The servers selection may pick from: those in rotation, or in panic every server. */
export function selectableServers<T>(
  inRotation: readonly T[],
  all: readonly T[],
  thresholdPercent: number,
): { readonly servers: readonly T[]; readonly panic: boolean } {
  return inPanic(inRotation.length, all.length, thresholdPercent) ? { servers: all, panic: true } : { servers: inRotation, panic: false };
}
