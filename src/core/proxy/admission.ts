/**
 * Admission: the one place a request becomes an Exchange or a refusal. Request id, method refusal, declared
 * body limit, server pick and header rules happen here, in this order, for every I/O path.
 */
import type { InFlightTracker } from '../upstream/in-flight.ts';
import type { Logger } from '../logging.ts';
import type { RequestOutcome } from '../stats/request-outcome.ts';
import type { ClientInfo } from '../runtime/contracts.ts';
import type { RequestSelection } from '../selection/request-selection.ts';
import type { ServerPool } from '../upstream/server-pool.ts';
import { Exchange, type ExchangeDeps, type ExchangeObserver } from './exchange.ts';
import { type HeaderRuleOptions, prepareUpstreamRequestHeaders, requestIdFor } from './forwarded-headers.ts';
import type { HeaderMap } from './hop-by-hop.ts';
import { checkHost } from './host.ts';
import type { ErrorAnswer } from './json-error.ts';
import { clientOrigin } from './location-rewrite.ts';
import { invalidContentLength, unsupportedVersion } from './request-line.ts';
import { IntrusiveList } from './intrusive-list.ts';
import { planRequestBody } from './replayable-body.ts';
import type { Resilience } from './resilience.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import { requestView } from './request-view.ts';

/** What admission reads from a request, whichever runtime parsed it. `headers` are rewritten in place for upstream. */
export interface RequestHead {
  readonly method: string;
  /** Path and query (see request-target.ts). */
  readonly target: string;
  readonly headers: HeaderMap;
  readonly client: ClientInfo;
  /** Whether the request has a body (Content-Length above 0 or Transfer-Encoding), read before the header rules run. */
  readonly hasBody?: boolean;
  /** Aborted when the client leaves: ends a wait in the admission queue. */
  readonly signal?: AbortSignal;
  /** Each Host field line as received (node:http's rawHeaders); absent: the one combined `host` header, if any. */
  readonly hostLines?: readonly string[];
  /** The request line's version ("1.1"), where the runtime says. */
  readonly httpVersion?: string;
  /** True when the request has a body the upstream client cannot send (a GET or HEAD body on fetch): 501, never dropped. */
  readonly unsendableBody?: boolean;
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
  readonly #resilience: Resilience;
  /** Exchanges not yet at their exit (see Exchange.terminate). */
  readonly open = new IntrusiveList<Exchange>();
  readonly #retryBufferBytes: number;
  readonly #queueObserver: { waited(ms: number): void; refused(reason: 'full' | 'timeout'): void } | undefined;

  constructor(deps: {
    pool: ServerPool;
    selection: RequestSelection;
    inFlight: InFlightTracker;
    /** Observability's one recording call: every exchange at its exit, and every refusal here. */
    record: (outcome: RequestOutcome<UpstreamServer>) => void;
    resilience: Resilience;
    log: Logger;
    headerRules: HeaderRuleOptions;
    upstreamTimeoutMs: number;
    maxRequestBodyBytes: number | undefined;
    /** CLIENT_BODY_TIMEOUT_MS, UPSTREAM_READ_TIMEOUT_MS, REWRITE_LOCATION and VIA (see ExchangeDeps). */
    limits?: Pick<ExchangeDeps, 'clientBodyTimeoutMs' | 'upstreamReadTimeoutMs' | 'rewriteLocation' | 'via'>;
    responseBufferBytes?: number;
    observers?: readonly ExchangeObserver[];
    /** Hears how long each queued request waited, and each one the queue refused (Prometheus' fairway_queue_*). */
    queueObserver?: { waited(ms: number): void; refused(reason: 'full' | 'timeout'): void };
  }) {
    this.#pool = deps.pool;
    this.#queueObserver = deps.queueObserver;
    this.#selection = deps.selection;
    this.#inFlight = deps.inFlight;
    this.#rules = deps.headerRules;
    this.#resilience = deps.resilience;
    this.#retryBufferBytes = deps.resilience.parts.retryBufferBytes;
    this.#deps = {
      record: deps.record,
      selection: deps.selection,
      resilience: deps.resilience,
      acquire: (server) => deps.inFlight.acquire(server),
      log: deps.log,
      open: this.open,
      observers: deps.observers ?? [],
      upstreamTimeoutMs: deps.upstreamTimeoutMs,
      maxRequestBodyBytes: deps.maxRequestBodyBytes,
      ...deps.limits,
      responseBufferBytes: deps.responseBufferBytes,
    };
  }

  /** True when MAX_REQUESTS_PER_SERVER is set: a request may then wait, and should pass a `signal` for its client leaving. */
  get queues(): boolean {
    return this.#resilience.parts.queue.options.maxRequestsPerServer !== undefined;
  }

  /**
   * Everything that could throw on odd input happens here, before a lease is taken. A promise only when
   * MAX_REQUESTS_PER_SERVER is reached and the request waits in the admission queue.
   */
  admit(head: RequestHead): Admitted | Promise<Admitted> {
    const admitted = this.#admit(head);
    if (!(admitted instanceof Promise)) return this.#recordRefusal(head, admitted);
    return admitted.then((settled) => this.#recordRefusal(head, settled));
  }

  #recordRefusal(head: RequestHead, admitted: Admitted): Admitted {
    if (!admitted.ok) this.#deps.record(refusalOutcome(head, admitted.answer));
    return admitted;
  }

  #admit(head: RequestHead): Admitted | Promise<Admitted> {
    const { method, target, headers } = head;
    const log = this.#deps.log;
    const requestId = requestIdFor(headers);
    const version = unsupportedVersion(head.httpVersion);
    if (version !== undefined) {
      log.info('Refused a request: {reason}; answering {status}', { event: 'bad_request', reason: version.reason, status: version.status, requestId });
      return refuse(version.status, version.reason, requestId);
    }
    // Before anything reads Host (header rules, Location rewriting): RFC 9110 §7.2, RFC 9112 §3.2. The upstream
    // path never comes from Host, whatever it holds (request-target.ts).
    const hostValue = headers.get('host');
    const host = checkHost(head.hostLines ?? (hostValue === null ? [] : [hostValue]), head.httpVersion);
    if (!host.ok) {
      log.info('Refused a request: {reason}; answering 400', { event: 'bad_request', reason: host.reason, requestId });
      return refuse(400, host.reason, requestId);
    }
    const framing = invalidContentLength(headers);
    if (framing !== undefined) {
      log.info('Refused a request: {reason}; answering 400', { event: 'bad_request', reason: framing, requestId });
      return refuse(400, framing, requestId);
    }
    if (head.unsendableBody === true) {
      log.info('Refused a {method} request with a body, which this runtime cannot forward; answering 501', {
        event: 'body_not_forwardable',
        method,
        requestId,
      });
      return refuse(501, `a ${method} request with a body cannot be forwarded on this runtime`, requestId);
    }
    if (REFUSED_METHODS.has(method.toUpperCase())) {
      log.info('Refused {method} request with 405', { event: 'method_refused', method, requestId });
      return refuse(405, `method ${method} is not forwarded by this proxy`, requestId);
    }
    // A declared Content-Length is checked before anything is read or sent (RFC 9110 §15.5.14).
    const limit = this.#deps.maxRequestBodyBytes;
    const declared = headers.get('content-length');
    if (limit !== undefined && declared !== null && Number(declared) > limit) {
      log.info('Request body of {bytes} bytes exceeds MAX_REQUEST_BODY_BYTES={limit}; answering 413', {
        event: 'body_too_large',
        bytes: Number(declared),
        limit,
        requestId,
      });
      return refuse(413, `request body exceeds the limit of ${limit} bytes`, requestId);
    }
    // The pick reads the headers as the client sent them (hash key, sticky cookie), before the header rules.
    const view = requestView(head, this.#rules.trustProxy);
    const clientTls = head.client.secure === true;
    const bodyPlan = planRequestBody(head.hasBody ?? false, declared, this.#retryBufferBytes);
    // Read before the header rules, which may drop them: the access log's combined format shows both.
    const referer = headers.get('referer') ?? '';
    const userAgent = headers.get('user-agent') ?? '';
    const declaredRequestBytes = declared === null ? 0 : Number(declared) || 0;
    const open = (server: UpstreamServer, setCookie: string | undefined): Admitted => {
      prepareUpstreamRequestHeaders(headers, { client: head.client, requestId }, this.#rules);
      const request = {
        requestId,
        method,
        target,
        upstreamHeaders: headers,
        view,
        clientTls,
        setCookie,
        bodyPlan,
        clientAddress: head.client.address ?? '',
        referer,
        userAgent,
        declaredRequestBytes,
        clientOrigin: clientOrigin(clientTls, host.host),
      };
      return { ok: true, exchange: new Exchange(this.#deps, request, this.#inFlight.acquire(server)) };
    };
    const pick = () => (this.#resilience.inPanic() ? { server: this.#resilience.panicPick(), setCookie: undefined } : this.#selection.choose(view, clientTls));
    const choice = this.#withRoom(pick());
    if (choice === undefined) return this.#noServer(requestId);
    if (choice !== 'full') return open(choice.server, choice.setCookie);
    return this.#queue(head.signal, requestId, pick, open);
  }

  /** The pick, or another server with room when it is at MAX_REQUESTS_PER_SERVER ('full' when none has room). */
  #withRoom(choice: { server: UpstreamServer | undefined; setCookie: string | undefined } | undefined): Choice | 'full' | undefined {
    if (choice?.server === undefined) return undefined;
    const queue = this.#resilience.parts.queue;
    if (queue.options.maxRequestsPerServer === undefined) return choice as Choice;
    // Requests already waiting go first; otherwise another server with room (O(n), only once a cap is reached).
    if (queue.length === 0 && queue.hasRoom(choice.server.inFlight)) return choice as Choice;
    const other = queue.length === 0 ? this.#resilience.retryTarget([]) : undefined;
    return other === undefined ? 'full' : { server: other, setCookie: undefined };
  }

  /** Waits for room in the admission queue (HAProxy's queue), up to QUEUE_TIMEOUT_MS; then 503 with Retry-After. */
  async #queue(
    signal: AbortSignal | undefined,
    requestId: string,
    pick: () => { server: UpstreamServer | undefined; setCookie: string | undefined } | undefined,
    open: (server: UpstreamServer, setCookie: string | undefined) => Admitted,
  ): Promise<Admitted> {
    const queue = this.#resilience.parts.queue;
    const queuedAt = performance.now();
    const deadline = queuedAt + queue.options.timeoutMs;
    for (;;) {
      const remaining = deadline - performance.now();
      const result = remaining <= 0 ? 'timeout' : await queue.wait(signal, remaining);
      if (result === 'aborted') return refuse(499, 'client closed the request', requestId);
      if (result === 'ready') {
        const choice = pick();
        if (choice?.server === undefined) return this.#noServer(requestId);
        const server = queue.hasRoom(choice.server.inFlight) ? choice.server : this.#resilience.retryTarget([]);
        if (server !== undefined) {
          // The next waiter may find room too.
          queue.released();
          this.#queueObserver?.waited(performance.now() - queuedAt);
          return open(server, server === choice.server ? choice.setCookie : undefined);
        }
        continue;
      }
      const limit = queue.options.maxRequestsPerServer;
      this.#queueObserver?.refused(result === 'full' ? 'full' : 'timeout');
      this.#deps.log.warn('Every server has MAX_REQUESTS_PER_SERVER={limit} requests in flight and the queue {why}; answering 503', {
        event: 'queue_refused',
        limit,
        why: result === 'full' ? 'is full' : `did not move within ${queue.options.timeoutMs} ms`,
        requestId,
      });
      return {
        ok: false,
        answer: {
          status: 503,
          error: `every upstream server is at its limit of ${limit} requests in flight`,
          requestId,
          retryAfterSeconds: queue.retryAfterSeconds,
        },
      };
    }
  }

  #noServer(requestId: string): Admitted {
    this.#deps.log.warn('No healthy server for a request; answering 503', { event: 'no_healthy_server', servers: this.#pool.servers.length, requestId });
    return refuse(503, 'no healthy upstream server is available', requestId);
  }
}

type Choice = { readonly server: UpstreamServer; readonly setCookie: string | undefined };

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
    abandoned: answer.status === 499,
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
