/** What the request lifecycle calls to pick a server: the configured algorithm kept in step with the pool, plus the hash fallback. */
import type { PoolListener, ServerPool } from '../upstream/server-pool.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import {
  type AlgorithmName,
  type AlgorithmOptions,
  type Candidate,
  type FallbackAlgorithmName,
  NO_CONTEXT,
  type SelectionAlgorithm,
  type SelectionContext,
} from './algorithm.ts';
import { createAlgorithm } from './create-algorithm.ts';

export interface SelectorOptions extends AlgorithmOptions {
  readonly algorithm: AlgorithmName;
  /** Where consistent_hash sends requests that have no hash key (HASH_FALLBACK). */
  readonly hashFallback?: FallbackAlgorithmName;
}

/** Servers a pick must not return (a retry's servers already tried). */
export type ExcludedServers = ReadonlySet<UpstreamServer>;

export interface Selector {
  readonly name: AlgorithmName;
  /**
   * An available server for this request, or undefined when none is available (answer 503). With `exclude`,
   * one not in it: undefined when every available server is excluded.
   */
  pick(context?: SelectionContext, exclude?: ExcludedServers): UpstreamServer | undefined;
  /** Call whenever `server.inFlight` changed (InFlightTracker does it when given this as its observer). */
  loadChanged(server: UpstreamServer): void;
  /** Call when `server` sent response headers, `ms` after the request went out. */
  responded(server: UpstreamServer, ms: number): void;
  /** Stops following the pool. */
  close(): void;
}

/** An algorithm subscribed to the pool, and which servers it currently holds as available. */
interface Followed {
  readonly algorithm: SelectionAlgorithm<UpstreamServer>;
  readonly holds: Set<UpstreamServer>;
  readonly stop: () => void;
}

function follow(pool: ServerPool, algorithm: SelectionAlgorithm<UpstreamServer>): Followed {
  const holds = new Set<UpstreamServer>();
  const listener: PoolListener = {
    configured: (servers) => algorithm.configured?.(servers),
    available(server) {
      holds.add(server);
      algorithm.available(server);
    },
    unavailable(server) {
      holds.delete(server);
      algorithm.unavailable(server);
    },
  };
  return { algorithm, holds, stop: pool.subscribe(listener) };
}

/**
 * A pick that skips `exclude`: every algorithm's structure already handles servers leaving and returning in
 * O(1) or O(log n) without losing what it learned (latency, schedule position), so the excluded servers it
 * holds leave for this one pick and come back right after. Only retries pay this, once per server tried.
 */
function pickExcluding(followed: Followed, context: SelectionContext, exclude: ExcludedServers): UpstreamServer | undefined {
  const { algorithm, holds } = followed;
  const hidden: UpstreamServer[] = [];
  for (const server of exclude) if (holds.has(server)) hidden.push(server);
  if (hidden.length === 0) return algorithm.pick(context);
  for (const server of hidden) algorithm.unavailable(server);
  try {
    return algorithm.pick(context);
  } finally {
    for (const server of hidden) algorithm.available(server);
  }
}

/**
 * Slow start (SLOW_START_MS): algorithms read a ramping server's weight when it becomes available and keep it, so
 * while any ramp runs, each ramping server whose weight has moved leaves and returns, which re-reads it, at most
 * SLOW_START_REFRESH_STEPS times per ramp, and once more when the ramp ends. Checked lazily on each pick: nothing runs
 * while no request comes, and with no ramp running a pick pays one comparison.
 */
function rampRefresher(pool: ServerPool, followed: readonly Followed[]): () => void {
  const ramps = pool.slowStart;
  if (!ramps.enabled) return () => {};
  /** The weight each ramping server was last given to the algorithms, in which ramp (a new ramp starts afresh). */
  const applied = new WeakMap<UpstreamServer, { since: number; weight: number }>();
  let due = Number.NEGATIVE_INFINITY;
  return () => {
    if (ramps.ramping === 0) return;
    const now = ramps.now();
    if (now < due) return;
    due = now + ramps.refreshEveryMs;
    ramps.refresh((server, since) => {
      const weight = pool.selectionWeight(server);
      const last = applied.get(server);
      if (last?.since === since && last.weight === weight) return;
      applied.set(server, { since, weight });
      for (const { algorithm, holds } of followed) {
        if (!holds.has(server)) continue;
        algorithm.unavailable(server);
        algorithm.available(server);
      }
    });
  };
}

export function createSelector(pool: ServerPool, options: SelectorOptions): Selector {
  // With slow start on, every algorithm reads the pool's ramped weights; otherwise the configured ones, as before.
  const algorithmOptions = pool.slowStart.enabled ? { ...options, weightOf: (server: Candidate) => pool.selectionWeight(server as UpstreamServer) } : options;
  const primary = follow(pool, createAlgorithm<UpstreamServer>(options.algorithm, algorithmOptions));
  const fallback: Followed | undefined = options.algorithm === 'consistent_hash'
    ? follow(pool, createAlgorithm(options.hashFallback ?? 'round_robin', algorithmOptions))
    : undefined;
  const refreshRamps = rampRefresher(pool, fallback === undefined ? [primary] : [primary, fallback]);
  return {
    name: primary.algorithm.name,
    pick(context = NO_CONTEXT, exclude) {
      refreshRamps();
      const chosen = fallback !== undefined && context.hashKey === undefined ? fallback : primary;
      return exclude === undefined || exclude.size === 0 ? chosen.algorithm.pick(context) : pickExcluding(chosen, context, exclude);
    },
    loadChanged(server) {
      primary.algorithm.loadChanged?.(server);
      fallback?.algorithm.loadChanged?.(server);
    },
    responded(server, ms) {
      primary.algorithm.responded?.(server, ms);
      fallback?.algorithm.responded?.(server, ms);
    },
    close() {
      primary.stop();
      fallback?.stop();
    },
  };
}
