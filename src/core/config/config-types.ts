/** The validated configuration every other module receives. */
import type { AlgorithmName, FallbackAlgorithmName } from '../selection/algorithm.ts';
import type { HashKeySource } from '../selection/hash-key.ts';
import type { StickyOptions } from '../selection/sticky.ts';
import type { AccessLogMode } from '../stats/access-log.ts';
import type { ResilienceConfig } from './resilience-types.ts';

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

/** WebSocket relay limits (Deno, Bun). Node's byte tunnel relies on stream backpressure and sees no messages. */
export interface WebSocketLimitsConfig {
  /** WEBSOCKET_MAX_BUFFERED_BYTES: bytes waiting for a slow reader before the tunnel closes with 1008. */
  readonly maxBufferedBytes: number;
  /** MAX_WEBSOCKET_MESSAGE_BYTES: the largest single message relayed. */
  readonly maxMessageBytes: number;
  /** WEBSOCKET_IDLE_TIMEOUT_MS: a tunnel with no message either way for this long closes; 0 means no limit. */
  readonly idleTimeoutMs: number;
}

/** Protocol settings (issue 10): WebSocket limits, TLS to clients, HTTPS to servers. File paths are read by the runtime. */
export interface ProtocolConfig {
  readonly websocket: WebSocketLimitsConfig;
  /** TLS_CERT_FILE (PEM, leaf first, then intermediates) and TLS_KEY_FILE: serve HTTPS on PORT; undefined serves plain HTTP. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** HTTP_REDIRECT_PORT: plain HTTP here answers 308 to the HTTPS URL; only with TLS. */
  readonly httpRedirectPort: number | undefined;
  /** UPSTREAM_CA_FILE adds a private CA for servers and health checks; UPSTREAM_TLS_INSECURE skips verification (development only). */
  readonly upstreamTls: { readonly caFile: string | undefined; readonly insecure: boolean };
}

export interface Config extends ProtocolConfig {
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
  // Connection limits and response rewriting (issue 8). Every duration: 0 means no limit.
  /** Longest time to receive a request head, from the first byte (or from connection open). */
  readonly clientHeaderTimeoutMs: number;
  /** Longest an idle client connection is kept open between requests. */
  readonly clientKeepAliveTimeoutMs: number;
  /** Longest gap between request body bytes from the client; the client's fault: 408 or a close, never the server's. */
  readonly clientBodyTimeoutMs: number;
  /** Longest gap between response bytes from the server once its response has started. */
  readonly upstreamReadTimeoutMs: number;
  /** Add `Via: 1.1 fairway` to requests and responses (RFC 9110 §7.6.3); VIA=off leaves Via as received. */
  readonly via: boolean;
  /** Rewrite Location, Content-Location and Refresh that point at the selected server's origin to the client-facing origin. */
  readonly rewriteLocation: boolean;
  /** One line per request: JSON, the combined format, or none. Its own logger category, whatever logLevel says. */
  readonly accessLog: AccessLogMode;
  /** Bearer token of the admin API under /lb/admin/; undefined keeps the admin API off. */
  readonly adminToken: string | undefined;
  /** A separate listener for every /lb/* endpoint; undefined serves them on `port`, as before. */
  readonly adminPort: number | undefined;
  /** Address of the admin listener: loopback unless set. */
  readonly adminHost: string;
  /** Health thresholds, outlier ejection, retries, slow start, panic, overload and shutdown (issue 9). */
  readonly resilience: ResilienceConfig;
  /** RESPONSE_BUFFER_BYTES: a response with a Content-Length up to this is read whole and its exchange ends; 0 streams all (issue 12). */
  readonly responseBufferBytes: number;
}
