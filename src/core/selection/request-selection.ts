/** One call for the lifecycle: from a request to a server (hash key, sticky cookie, fallback), plus the Set-Cookie to add. */
import type { ServerPool } from '../upstream/server-pool.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import { type AlgorithmName, type AlgorithmOptions, type FallbackAlgorithmName, NO_CONTEXT, type SelectionContext } from './algorithm.ts';
import { extractHashKey, type HashKeySource, type RequestView } from './hash-key.ts';
import { createSelector, type ExcludedServers, type Selector } from './selector.ts';
import { pickSticky, type StickyChoice, type StickyOptions } from './sticky.ts';

/** The selection part of Config (see config-types.ts). */
export interface SelectionSettings {
  readonly algorithm: AlgorithmName;
  readonly hashKey: HashKeySource;
  readonly hashFallback: FallbackAlgorithmName;
  readonly sticky: StickyOptions | undefined;
}

export interface RequestSelection extends Selector {
  /**
   * The server for this request, or undefined when none is available (answer 503). `setCookie`, when present,
   * must be added to the response as a Set-Cookie header (sticky sessions only). A retry passes the servers
   * already tried as `exclude` and gets another one (undefined when none is left).
   */
  choose(request: RequestView, clientTls: boolean, exclude?: ExcludedServers): StickyChoice | undefined;
}

export function createRequestSelection(pool: ServerPool, settings: SelectionSettings, options: AlgorithmOptions = {}): RequestSelection {
  const selector = createSelector(pool, { ...options, algorithm: settings.algorithm, hashFallback: settings.hashFallback });
  const hashing = settings.algorithm === 'consistent_hash';
  const contextOf = (request: RequestView): SelectionContext => (hashing ? { hashKey: extractHashKey(settings.hashKey, request) } : NO_CONTEXT);
  const sticky = settings.sticky;
  return {
    ...selector,
    choose(request, clientTls, exclude) {
      const context = contextOf(request);
      if (sticky !== undefined) return pickSticky(sticky, pool, selector, request.header('cookie'), context, clientTls, exclude);
      const server: UpstreamServer | undefined = selector.pick(context, exclude);
      return server === undefined ? undefined : { server, setCookie: undefined };
    },
  };
}
