/**
 * What happens to a forwarded request, independent of the I/O that moves its bytes: which server, exact
 * in-flight accounting, metrics, passive health and how failures map to status codes. Every I/O path
 * (the Web-standard one here, native ones later) drives this same policy.
 */
import type { HealthChecker } from './health-checker.ts';
import type { InFlightLease, InFlightTracker } from './in-flight.ts';
import type { Logger } from './logging.ts';
import type { Metrics } from './metrics.ts';
import type { SelectionAlgorithm } from './selection/algorithm.ts';
import type { ServerPool } from './server-pool.ts';
import type { UpstreamServer } from './upstream-server.ts';

/** Why a forward ended without a response from the server. */
export type FailureKind = 'timeout' | 'unreachable' | 'client_gone';

export interface ForwardAttempt {
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
  readonly #algorithm: SelectionAlgorithm;
  readonly #inFlight: InFlightTracker;
  readonly #metrics: Metrics;
  readonly #health: HealthChecker;
  readonly #log: Logger;
  readonly upstreamTimeoutMs: number;

  constructor(deps: {
    pool: ServerPool;
    algorithm: SelectionAlgorithm;
    inFlight: InFlightTracker;
    metrics: Metrics;
    health: HealthChecker;
    log: Logger;
    upstreamTimeoutMs: number;
  }) {
    this.#pool = deps.pool;
    this.#algorithm = deps.algorithm;
    this.#inFlight = deps.inFlight;
    this.#metrics = deps.metrics;
    this.#health = deps.health;
    this.#log = deps.log;
    this.upstreamTimeoutMs = deps.upstreamTimeoutMs;
  }

  /** Selects a healthy server and starts counting the request against it; undefined when none is healthy. */
  begin(): ForwardAttempt | undefined {
    const server = this.#algorithm.pick(this.#pool.healthy);
    if (server === undefined) {
      this.#metrics.recordNoServer();
      this.#log.warn('No healthy server for a request; answering 503', { event: 'no_healthy_server', servers: this.#pool.servers.length });
      return undefined;
    }
    return { server, startedAt: performance.now(), lease: this.#inFlight.acquire(server) };
  }

  /** The server sent response headers. The lease stays held until the body has been streamed. */
  responded(attempt: ForwardAttempt, status: number): void {
    this.#metrics.recordResponse(attempt.server, status, performance.now() - attempt.startedAt);
  }

  /** Forwarding failed before response headers arrived. Releases the lease and says what to answer. */
  failed(attempt: ForwardAttempt, kind: FailureKind, reason: string): FailureOutcome {
    attempt.lease.release();
    const server = attempt.server.url;
    if (kind === 'client_gone') {
      this.#metrics.recordAbandoned(attempt.server);
      this.#log.debug('Client went away before {server} answered', { event: 'client_gone', server });
      return { status: 499, error: 'client closed the request' };
    }
    this.#metrics.recordFailure(attempt.server);
    this.#health.markUnhealthy(attempt.server, reason);
    this.#log.warn('Forwarding to {server} failed: {reason}', { event: 'forward_failed', server, kind, reason });
    return kind === 'timeout'
      ? { status: 504, error: `upstream server ${server} did not answer within ${this.upstreamTimeoutMs} ms` }
      : { status: 502, error: `upstream server ${server} is unreachable (${reason})` };
  }

  /** The server answered, but its response could not be passed on (not yet counted by `responded`). Returns the 502 error text. */
  unforwardable(attempt: ForwardAttempt, reason: string): string {
    this.#metrics.recordFailure(attempt.server);
    this.#log.error('Response from {server} could not be forwarded: {reason}', { event: 'forward_failed', server: attempt.server.url, kind: 'bad_response', reason });
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
