/**
 * Admission: the one place a request becomes an Exchange or a refusal. Request id, method refusal, declared
 * body limit, server pick and header rules happen here, in this order, for every I/O path.
 */
import type { HealthChecker } from '../upstream/health-checker.ts';
import type { InFlightTracker } from '../upstream/in-flight.ts';
import type { Logger } from '../logging.ts';
import type { RequestOutcome } from '../stats/request-outcome.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import type { ClientInfo } from '../runtime/contracts.ts';
import type { RequestSelection } from '../selection/request-selection.ts';
import type { ServerPool } from '../upstream/server-pool.ts';
import { Exchange, type ExchangeDeps, type ExchangeObserver } from './exchange.ts';
import { prepareUpstreamRequestHeaders, requestIdFor, type HeaderRuleOptions } from './forwarded-headers.ts';
import type { HeaderMap } from './hop-by-hop.ts';
import type { ErrorAnswer } from './json-error.ts';
import { requestView } from './request-view.ts';

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
  readonly #selection: RequestSelection;
  readonly #inFlight: InFlightTracker;
  readonly #rules: HeaderRuleOptions;
  readonly #deps: ExchangeDeps;

  constructor(deps: {
    pool: ServerPool;
    selection: RequestSelection;
    inFlight: InFlightTracker;
    /** Observability's one recording call: every exchange at its exit, and every refusal here. */
    record: (outcome: RequestOutcome<UpstreamServer>) => void;
    health: HealthChecker;
    log: Logger;
    headerRules: HeaderRuleOptions;
    upstreamTimeoutMs: number;
    maxRequestBodyBytes: number | undefined;
    responseBufferBytes?: number;
    observers?: readonly ExchangeObserver[];
  }) {
    this.#pool = deps.pool;
    this.#selection = deps.selection;
    this.#inFlight = deps.inFlight;
    this.#rules = deps.headerRules;
    this.#deps = {
      record: deps.record,
      selection: deps.selection,
      health: deps.health,
      log: deps.log,
      observers: deps.observers ?? [],
      upstreamTimeoutMs: deps.upstreamTimeoutMs,
      maxRequestBodyBytes: deps.maxRequestBodyBytes,
      responseBufferBytes: deps.responseBufferBytes,
    };
  }

  /** Everything that could throw on odd input happens here, before a lease is taken. */
  admit(head: RequestHead): Admitted {
    const admitted = this.#admit(head);
    if (!admitted.ok) this.#deps.record(refusalOutcome(head, admitted.answer));
    return admitted;
  }

  #admit(head: RequestHead): Admitted {
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
    // The pick reads the headers as the client sent them (hash key, sticky cookie), before the header rules.
    const view = requestView(head, this.#rules.trustProxy);
    const clientTls = head.client.secure === true;
    const choice = this.#selection.choose(view, clientTls);
    if (choice === undefined) {
      log.warn('No healthy server for a request; answering 503', { event: 'no_healthy_server', servers: this.#pool.servers.length, requestId });
      return refuse(503, 'no healthy upstream server is available', requestId);
    }
    // Read before the header rules, which may drop them: the access log's combined format shows both.
    const referer = headers.get('referer') ?? '';
    const userAgent = headers.get('user-agent') ?? '';
    prepareUpstreamRequestHeaders(headers, { client: head.client, requestId }, this.#rules);
    const request = {
      requestId, method, target, upstreamHeaders: headers, view, clientTls, setCookie: choice.setCookie,
      clientAddress: head.client.address ?? '', referer, userAgent, declaredRequestBytes: declared === null ? 0 : Number(declared) || 0,
    };
    const exchange = new Exchange(this.#deps, request, this.#inFlight.acquire(choice.server));
    return { ok: true, exchange };
  }
}

const refuse = (status: number, error: string, requestId: string): Admitted => ({ ok: false, answer: { status, error, requestId } });

/** A request Fairway answered itself, as observability records it: no server, no attempt. */
function refusalOutcome(head: RequestHead, answer: ErrorAnswer): RequestOutcome<UpstreamServer> {
  return {
    startedAt: Date.now(),
    requestId: answer.requestId,
    clientAddress: head.client.address ?? '',
    method: head.method,
    target: head.target,
    server: undefined,
    status: answer.status,
    failure: undefined,
    abandoned: false,
    attempts: 0,
    serversTried: [],
    headersMs: undefined,
    totalMs: 0,
    bytesIn: 0,
    bytesOut: 0,
    referer: head.headers.get('referer') ?? '',
    userAgent: head.headers.get('user-agent') ?? '',
  };
}
