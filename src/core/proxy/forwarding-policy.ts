/**
 * What happens to a forwarded request, independent of the I/O that moves its bytes: which server, exact
 * in-flight accounting, metrics, passive health and how failures map to status codes. Every I/O path
 * (the Web-standard one here, native ones later) drives this same policy.
 */
import type { HealthChecker } from '../upstream/health-checker.ts';
import type { InFlightLease, InFlightTracker } from '../upstream/in-flight.ts';
import type { Logger } from '../logging.ts';
import type { Metrics } from '../stats/metrics.ts';
import type { Selector } from '../selection/selector.ts';
import type { ServerPool } from '../upstream/server-pool.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';

/** Why a forward ended without a response from the server. */
export type FailureKind = 'timeout' | 'unreachable' | 'client_gone' | 'body_too_large';

/** Why a forward was stopped on purpose, carried as its AbortSignal's reason by every I/O path. */
export const STOP_REASON = {
  timeout: Symbol('upstream timeout'),
  clientGone: Symbol('client gone'),
  bodyTooLarge: Symbol('request body too large'),
} as const;

/** Classifies a failed upstream request from its signal's reason; anything not stopped on purpose is the server's. */
export function failureKind(signal: AbortSignal, error: unknown): FailureKind {
  const reason: unknown = signal.aborted ? signal.reason : error;
  if (reason === STOP_REASON.clientGone) return 'client_gone';
  if (reason === STOP_REASON.timeout) return 'timeout';
  if (reason === STOP_REASON.bodyTooLarge) return 'body_too_large';
  return 'unreachable';
}

/** What the policy needs to know about a request: enough to select, log and correlate. */
export interface RequestSummary {
  readonly requestId: string;
  readonly method: string;
  /** Path and query, as sent upstream. */
  readonly target: string;
}

export interface ForwardAttempt extends RequestSummary {
  readonly server: UpstreamServer;
  readonly startedAt: number;
  readonly lease: InFlightLease;
}

export interface FailureOutcome {
  /** 502 or 504; 499 (nginx's "client closed request") when nobody is left to answer. */
  readonly status: number;
  readonly error: string;
}

export class ForwardingPolicy {
  readonly #pool: ServerPool;
  readonly #algorithm: Selector;
  readonly #inFlight: InFlightTracker;
  readonly #metrics: Metrics;
  readonly #health: HealthChecker;
  readonly #log: Logger;
  readonly upstreamTimeoutMs: number;
  readonly maxRequestBodyBytes: number | undefined;

  constructor(deps: {
    pool: ServerPool;
    algorithm: Selector;
    inFlight: InFlightTracker;
    metrics: Metrics;
    health: HealthChecker;
    log: Logger;
    upstreamTimeoutMs: number;
    maxRequestBodyBytes: number | undefined;
  }) {
    this.#pool = deps.pool;
    this.#algorithm = deps.algorithm;
    this.#inFlight = deps.inFlight;
    this.#metrics = deps.metrics;
    this.#health = deps.health;
    this.#log = deps.log;
    this.upstreamTimeoutMs = deps.upstreamTimeoutMs;
    this.maxRequestBodyBytes = deps.maxRequestBodyBytes;
  }

  /**
   * Refuses methods a reverse proxy must not forward: CONNECT asks for a tunnel, not a resource, and TRACE
   * (and IIS's TRACK) would echo credentials back across origins (cross-site tracing). Several runtimes'
   * clients refuse them anyway; answering 405 here, before selection, keeps that from looking like a dead server.
   */
  refuseMethod(method: string, requestId: string): FailureOutcome | undefined {
    if (method !== 'CONNECT' && method !== 'TRACE' && method !== 'TRACK') return undefined;
    this.#log.info('Refused {method} request with 405', { event: 'method_refused', method, requestId });
    return { status: 405, error: `method ${method} is not forwarded by this proxy` };
  }

  /**
   * Checks a declared Content-Length against MAX_REQUEST_BODY_BYTES before anything is read or sent
   * (RFC 9110 §15.5.14). Returns the 413 to answer with, or undefined when the request may go on.
   */
  rejectDeclaredBody(contentLength: string | null, requestId: string): FailureOutcome | undefined {
    const limit = this.maxRequestBodyBytes;
    if (limit === undefined || contentLength === null || !(Number(contentLength) > limit)) return undefined;
    this.#log.info('Request body of {bytes} bytes exceeds MAX_REQUEST_BODY_BYTES={limit}; answering 413', {
      event: 'body_too_large',
      bytes: Number(contentLength),
      limit,
      requestId,
    });
    return { status: 413, error: `request body exceeds the limit of ${limit} bytes` };
  }

  /** Selects a healthy server and starts counting the request against it; undefined when none is healthy. */
  begin(request: RequestSummary): ForwardAttempt | undefined {
    const server = this.#algorithm.pick();
    if (server === undefined) return undefined;
    return {
      requestId: request.requestId,
      method: request.method,
      target: request.target,
      server,
      startedAt: performance.now(),
      lease: this.#inFlight.acquire(server),
    };
  }

  /** No server was healthy: what to answer (503). */
  noServer(requestId: string): FailureOutcome {
    this.#metrics.recordNoServer();
    this.#log.warn('No healthy server for a request; answering 503', { event: 'no_healthy_server', servers: this.#pool.servers.length, requestId });
    return { status: 503, error: 'no healthy upstream server is available' };
  }

  /** The server sent response headers. The lease stays held until the body has been streamed. */
  responded(attempt: ForwardAttempt, status: number): void {
    const ms = performance.now() - attempt.startedAt;
    this.#metrics.recordResponse(attempt.server, status, ms);
    this.#algorithm.responded(attempt.server, ms);
    if (this.#log.isEnabledFor('debug')) {
      this.#log.debug('{method} {target} -> {server} {status}', {
        event: 'request',
        method: attempt.method,
        target: attempt.target,
        server: attempt.server.url,
        status,
        ms: Math.round(ms * 1000) / 1000,
        requestId: attempt.requestId,
      });
    }
  }

  /** Forwarding failed before response headers arrived. Releases the lease and says what to answer. */
  failed(attempt: ForwardAttempt, kind: FailureKind, reason: string): FailureOutcome {
    attempt.lease.release();
    const server = attempt.server.url;
    const requestId = attempt.requestId;
    if (kind === 'client_gone') {
      this.#metrics.recordAbandoned(attempt.server);
      this.#log.debug('Client went away before {server} answered', { event: 'client_gone', server, requestId });
      return { status: 499, error: 'client closed the request' };
    }
    if (kind === 'body_too_large') {
      // The client's fault, not the server's: no error against the server, no health change.
      this.#metrics.recordAbandoned(attempt.server);
      this.#log.info('Request body exceeded MAX_REQUEST_BODY_BYTES={limit} while streaming; answering 413', {
        event: 'body_too_large',
        limit: this.maxRequestBodyBytes,
        server,
        requestId,
      });
      return { status: 413, error: `request body exceeds the limit of ${this.maxRequestBodyBytes} bytes` };
    }
    this.#metrics.recordFailure(attempt.server);
    this.#health.markUnhealthy(attempt.server, reason);
    this.#log.warn('Forwarding to {server} failed: {reason}', { event: 'forward_failed', server, kind, reason, requestId });
    return kind === 'timeout'
      ? { status: 504, error: `upstream server ${server} did not answer within ${this.upstreamTimeoutMs} ms` }
      : { status: 502, error: `upstream server ${server} is unreachable (${reason})` };
  }

  /** The server answered, but its response could not be passed on (not yet counted by `responded`). Returns the 502 error text. */
  unforwardable(attempt: ForwardAttempt, reason: string): string {
    this.#metrics.recordFailure(attempt.server);
    this.#log.error('Response from {server} could not be forwarded: {reason}', {
      event: 'forward_failed',
      server: attempt.server.url,
      kind: 'bad_response',
      reason,
      requestId: attempt.requestId,
    });
    return `upstream server ${attempt.server.url} sent a response that cannot be forwarded (${reason})`;
  }

  /** The response body finished streaming, or the client went away while it streamed. */
  finished(attempt: ForwardAttempt): void {
    attempt.lease.release();
  }
}

/** Statuses whose responses never carry a body (RFC 9110 §6.4.1, §15.3.5, §15.4.5). */
export function isBodylessStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304 || (status >= 100 && status < 200);
}
