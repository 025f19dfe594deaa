/** What the request lifecycle calls to pick a server: the configured algorithm kept in step with the pool, plus the hash fallback. */
import type { ServerPool } from '../upstream/server-pool.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import { NO_CONTEXT, type AlgorithmName, type AlgorithmOptions, type FallbackAlgorithmName, type SelectionAlgorithm, type SelectionContext } from './algorithm.ts';
import { createAlgorithm } from './create-algorithm.ts';

export interface SelectorOptions extends AlgorithmOptions {
  readonly algorithm: AlgorithmName;
  /** Where consistent_hash sends requests that have no hash key (HASH_FALLBACK). */
  readonly hashFallback?: FallbackAlgorithmName;
}

export interface Selector {
  readonly name: AlgorithmName;
  /** An available server for this request, or undefined when none is available (answer 503). */
  pick(context?: SelectionContext): UpstreamServer | undefined;
  /** Call whenever `server.inFlight` changed (InFlightTracker does it when given this as its observer). */
  loadChanged(server: UpstreamServer): void;
  /** Call when `server` sent response headers, `ms` after the request went out. */
  responded(server: UpstreamServer, ms: number): void;
  /** Stops following the pool. */
  close(): void;
}

export function createSelector(pool: ServerPool, options: SelectorOptions): Selector {
  const primary = createAlgorithm<UpstreamServer>(options.algorithm, options);
  const fallback: SelectionAlgorithm<UpstreamServer> | undefined =
    options.algorithm === 'consistent_hash' ? createAlgorithm(options.hashFallback ?? 'round_robin', options) : undefined;
  const unsubscribe = [pool.subscribe(primary), ...(fallback ? [pool.subscribe(fallback)] : [])];
  return {
    name: primary.name,
    pick(context = NO_CONTEXT) {
      if (fallback !== undefined && context.hashKey === undefined) return fallback.pick(context);
      return primary.pick(context);
    },
    loadChanged(server) {
      primary.loadChanged?.(server);
      fallback?.loadChanged?.(server);
    },
    responded(server, ms) {
      primary.responded?.(server, ms);
      fallback?.responded?.(server, ms);
    },
    close() {
      for (const stop of unsubscribe) stop();
    },
  };
}
