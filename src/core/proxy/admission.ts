/**
 * Admission: the one place a request becomes an Exchange or a refusal. Request id, method refusal, declared
 * body limit, header rules and server pick happen here, in this order, for every I/O path.
 */
import type { HealthChecker } from '../upstream/health-checker.ts';
import type { InFlightTracker } from '../upstream/in-flight.ts';
import type { Logger } from '../logging.ts';
import type { Metrics } from '../stats/metrics.ts';
import type { ClientInfo } from '../runtime/contracts.ts';
import type { Selector } from '../selection/selector.ts';
import type { ServerPool } from '../upstream/server-pool.ts';
import { Exchange, type ExchangeDeps, type ExchangeObserver, type ExchangeRecord } from './exchange.ts';
import { prepareUpstreamRequestHeaders, requestIdFor, type HeaderRuleOptions } from './forwarded-headers.ts';
import type { HeaderMap } from './hop-by-hop.ts';
import type { ErrorAnswer } from './json-error.ts';

/** What admission reads from a request, whichever runtime parsed it. `headers` are rewritten in place for upstream. */
export interface RequestHead {
  readonly method: string;
  /** Path and query (see request-target.ts). */
  readonly target: string;
  readonly headers: HeaderMap;
  readonly client: ClientInfo;
}

export type Admitted = { readonly ok: true; readonly exchange: Exchange } | { readonly ok: false; readonly answer: ErrorAnswer };

/**
 * Methods a reverse proxy must not forward: CONNECT asks for a tunnel, not a resource, and TRACE (and IIS's
 * TRACK) would echo credentials back across origins (cross-site tracing). Compared case-insensitively: a
 * server may treat `trace` as TRACE even though method names are case-sensitive (RFC 9110 §9.1).
 */
const REFUSED_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

export class Admission {
  readonly #pool: ServerPool;
  readonly #algorithm: Selector;
  readonly #inFlight: InFlightTracker;
  readonly #rules: HeaderRuleOptions;
  readonly #deps: ExchangeDeps;

  constructor(deps: {
    pool: ServerPool;
    algorithm: Selector;
    inFlight: InFlightTracker;
    metrics: Metrics;
    health: HealthChecker;
    log: Logger;
    headerRules: HeaderRuleOptions;
    upstreamTimeoutMs: number;
    maxRequestBodyBytes: number | undefined;
    responseBufferBytes?: number;
    observers?: readonly ExchangeObserver[];
  }) {
    this.#pool = deps.pool;
    this.#algorithm = deps.algorithm;
    this.#inFlight = deps.inFlight;
    this.#rules = deps.headerRules;
    this.#deps = {
      metrics: deps.metrics,
      selection: deps.algorithm,
      health: deps.health,
      log: deps.log,
      observers: [debugRequestLog(deps.log), ...(deps.observers ?? [])],
      upstreamTimeoutMs: deps.upstreamTimeoutMs,
      maxRequestBodyBytes: deps.maxRequestBodyBytes,
      responseBufferBytes: deps.responseBufferBytes,
    };
  }

  /** Everything that could throw on odd input happens here, before a lease is taken. */
  admit(head: RequestHead): Admitted {
    const { method, target, headers } = head;
    const log = this.#deps.log;
    const requestId = requestIdFor(headers);
    if (REFUSED_METHODS.has(method.toUpperCase())) {
      log.info('Refused {method} request with 405', { event: 'method_refused', method, requestId });
      return refuse(405, `method ${method} is not forwarded by this proxy`, requestId);
    }
    // A declared Content-Length is checked before anything is read or sent (RFC 9110 §15.5.14).
    const limit = this.#deps.maxRequestBodyBytes;
    const declared = headers.get('content-length');
    if (limit !== undefined && declared !== null && Number(declared) > limit) {
      log.info('Request body of {bytes} bytes exceeds MAX_REQUEST_BODY_BYTES={limit}; answering 413', { event: 'body_too_large', bytes: Number(declared), limit, requestId });
      return refuse(413, `request body exceeds the limit of ${limit} bytes`, requestId);
    }
    prepareUpstreamRequestHeaders(headers, { client: head.client, requestId }, this.#rules);

    const server = this.#algorithm.pick();
    if (server === undefined) {
      this.#deps.metrics.recordNoServer();
      log.warn('No healthy server for a request; answering 503', { event: 'no_healthy_server', servers: this.#pool.servers.length, requestId });
      return refuse(503, 'no healthy upstream server is available', requestId);
    }
    const exchange = new Exchange(this.#deps, { requestId, method, target, upstreamHeaders: headers }, this.#inFlight.acquire(server));
    return { ok: true, exchange };
  }
}

const refuse = (status: number, error: string, requestId: string): Admitted => ({ ok: false, answer: { status, error, requestId } });

/** Each exchange at debug level, once, at its exit. */
function debugRequestLog(log: Logger): ExchangeObserver {
  return {
    exchangeEnded(r: ExchangeRecord) {
      if (!log.isEnabledFor('debug')) return;
      log.debug('{method} {target} -> {server} {status}', {
        event: 'request',
        method: r.method,
        target: r.target,
        server: r.server,
        status: r.status,
        outcome: r.outcome,
        ms: r.headersMs === undefined ? null : Math.round(r.headersMs * 1000) / 1000,
        requestId: r.requestId,
      });
    },
  };
}
