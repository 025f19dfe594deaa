/** The validated configuration every other module receives. */
import type { AlgorithmName, FallbackAlgorithmName } from '../selection/algorithm.ts';
import type { HashKeySource } from '../selection/hash-key.ts';
import type { StickyOptions } from '../selection/sticky.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
/** The most worker processes WORKERS may ask for. */
export const MAX_WORKERS = 64;
/** A worker count, or 'auto' for one per logical CPU. */
export type WorkersSetting = number | 'auto';

export interface ServerConfig {
  /** The server's origin, e.g. `http://127.0.0.1:5001` (scheme, host, port; no path, no trailing slash). */
  readonly url: string;
  readonly weight: number;
}

export interface Config {
  readonly algorithm: AlgorithmName;
  /** Undefined when BACKEND_SERVERS is unset: demo mode starts built-in backends. */
  readonly servers: readonly ServerConfig[] | undefined;
  readonly host: string;
  readonly port: number;
  readonly healthCheckPath: string;
  readonly healthCheckIntervalMs: number;
  readonly healthCheckTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
  readonly logLevel: LogLevelName;
  readonly logFormat: LogFormat;
  /** Keep and append to incoming X-Forwarded-* headers (true) or replace them (false: the client could forge them). */
  readonly trustProxy: boolean;
  /** Send the client's Host upstream instead of the server's own. */
  readonly preserveHost: boolean;
  /** Larger request bodies get 413; undefined means no limit. */
  readonly maxRequestBodyBytes: number | undefined;
  // Selection settings (issue 13): HASH_KEY, HASH_FALLBACK, STICKY_COOKIE*.
  /** What consistent_hash hashes (HASH_KEY, default ip). */
  readonly hashKey: HashKeySource;
  /** Where consistent_hash sends requests without a key (HASH_FALLBACK, default round_robin). */
  readonly hashFallback: FallbackAlgorithmName;
  /** Sticky sessions, when STICKY_COOKIE is set. */
  readonly sticky: StickyOptions | undefined;
  /** Processes serving the one port: 1 (the default) is a single process; 'auto' means one per logical CPU. */
  readonly workers: WorkersSetting;
}
