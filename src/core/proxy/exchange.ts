/**
 * The life of one forwarded request, from admission to its single exit, whichever I/O path moves its bytes.
 * Each event the forwarder reports returns what it must do or answer; the forwarder decides nothing itself.
 * Like Pingora's ProxyHttp phases (one fixed order, I/O apart) and nginx's one peer-free exit per request
 * (`ngx_http_upstream_free_round_robin_peer`): the lease is released and the outcome recorded exactly once.
 */
import type { HealthChecker } from '../upstream/health-checker.ts';
import type { InFlightLease } from '../upstream/in-flight.ts';
import type { Logger } from '../logging.ts';
import type { FailureKind, RequestOutcome } from '../stats/request-outcome.ts';
import type { RequestView } from '../selection/hash-key.ts';
import type { RequestSelection } from '../selection/request-selection.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import { prepareClientResponseHeaders } from './forwarded-headers.ts';
import type { HeaderMap } from './hop-by-hop.ts';
import { describeError } from './describe-error.ts';
import type { ErrorAnswer } from './json-error.ts';
import { upstreamUrl } from './request-target.ts';
import { responseBufferLength } from './response-buffering.ts';

/** Why an exchange was stopped on purpose; carried as its AbortSignal's reason, so a failure can be told from the server's. */
export const STOP_REASON = {
  timeout: Symbol('upstream timeout'),
  clientGone: Symbol('client gone'),
  bodyTooLarge: Symbol('request body too large'),
} as const;

/** How an exchange ended. `responded` is the only one where the server's whole answer reached the client. */
export type OutcomeKind = 'responded' | 'client_gone' | 'body_too_large' | 'timeout' | 'unreachable' | 'unrepresentable' | 'upstream_reset';

/** What the single exit hands to observers (the seam for an access log or Prometheus counters). */
export interface ExchangeRecord {
  readonly requestId: string;
  readonly method: string;
  readonly target: string;
  readonly server: string;
  readonly outcome: OutcomeKind;
  /** The status the client was sent; 499 (nginx's "client closed request") when nobody was left to answer. */
  readonly status: number;
  /** Time to the server's response headers, when they came. */
  readonly headersMs: number | undefined;
  readonly durationMs: number;
  /** Bytes of request body read, where the forwarder meters the body (always when MAX_REQUEST_BODY_BYTES is set). */
  readonly requestBytes: number;
}

export interface ExchangeObserver {
  exchangeEnded(record: ExchangeRecord): void;
}

/** What an Exchange shares with every other one: set once by Admission. */
export interface ExchangeDeps {
  /** Observability's one recording call (/lb/stats, Prometheus, access log), once per request at the single exit. */
  readonly record: (outcome: RequestOutcome<UpstreamServer>) => void;
  /** Latency-aware algorithms learn each server's time to response headers; a retry chooses another server with `choose`. */
  readonly selection: Pick<RequestSelection, 'responded' | 'choose'>;
  readonly health: HealthChecker;
  readonly log: Logger;
  readonly observers: readonly ExchangeObserver[];
  readonly upstreamTimeoutMs: number;
  readonly maxRequestBodyBytes: number | undefined;
  /** RESPONSE_BUFFER_BYTES (0 or unset: every body streams). */
  readonly responseBufferBytes?: number;
}

/** What the forwarder must do with the server's response head. */
export interface ResponsePlan {
  /** False for HEAD and bodyless statuses: send the head alone and discard whatever body the server sent. */
  readonly withBody: boolean;
  /**
   * Set for a body with a Content-Length up to RESPONSE_BUFFER_BYTES: read exactly this many bytes whole, then
   * report `responseRead()` (the exchange ends there) and send head and body natively. A failed read is `failed()`
   * before anything was sent. Undefined: send the head and stream the body with exact accounting. A path whose
   * client socket takes such a body whole at once may stream it instead (Node's: collecting it cost more there).
   */
  readonly bufferLength: number | undefined;
}

/** What the forwarder must do after a failure: answer (nothing was sent yet), or cut the client's connection. */
export type FailureAction = { readonly do: 'answer'; readonly answer: ErrorAnswer } | { readonly do: 'reset' } | { readonly do: 'nothing' };

/** Statuses whose responses never carry a body (RFC 9110 §6.4.1, §15.3.5, §15.4.5), and replies to HEAD (§9.3.2). */
export function responseCarriesBody(method: string, status: number): boolean {
  if (status === 204 || status === 205 || status === 304 || (status >= 100 && status < 200)) return false;
  return method !== 'HEAD';
}

/**
 * `waiting` until the response head is sent, then `streaming` until the single exit. Where later work goes:
 * a retry is a new attempt (new lease, another server) decided in `failed()` while still `waiting`, which a
 * request body replay buffer fed by `countRequestBytes` makes possible; buffering small responses is one
 * more field of ResponsePlan; an access log or Prometheus counters are ExchangeObservers.
 */
type Phase = 'waiting' | 'streaming' | 'ended';

export class Exchange {
  readonly requestId: string;
  readonly method: string;
  /** Path and query, as sent upstream. */
  readonly target: string;
  /** The headers to send upstream, header rules already applied. */
  readonly upstreamHeaders: HeaderMap;
  /** What selection read about the request, and whether it came over TLS: a retry chooses again with them. */
  readonly view: RequestView;
  readonly clientTls: boolean;
  /** The sticky cookie to set on the response (request-selection.ts), if any; a retry on another server replaces it. */
  setCookie: string | undefined;
  /** Aborted with a STOP_REASON when the exchange must stop: pass it to the upstream request. */
  readonly signal: AbortSignal;
  readonly #deps: ExchangeDeps;
  readonly #controller = new AbortController();
  readonly #startedAt = performance.now();
  readonly #timer: ReturnType<typeof setTimeout>;
  // One attempt today; a retry would take a new lease on another server here, inside the same exchange.
  readonly #lease: InFlightLease;
  #phase: Phase = 'waiting';
  #status = 0;
  #headersMs: number | undefined;
  #requestBytes = 0;
  /** Response body bytes handed to the runtime; -1 until counted, then the declared Content-Length stands in. */
  #responseBytes = -1;
  #declaredResponseBytes = 0;
  readonly #request: ExchangeRequest;
  readonly #startedAtEpoch = Date.now();
  #atExit: (() => void)[] = [];

  constructor(deps: ExchangeDeps, request: ExchangeRequest, lease: InFlightLease) {
    this.#deps = deps;
    this.#request = request;
    this.requestId = request.requestId;
    this.method = request.method;
    this.target = request.target;
    this.upstreamHeaders = request.upstreamHeaders;
    this.view = request.view;
    this.clientTls = request.clientTls;
    this.setCookie = request.setCookie;
    this.#lease = lease;
    this.signal = this.#controller.signal;
    this.#timer = setTimeout(() => this.#controller.abort(STOP_REASON.timeout), deps.upstreamTimeoutMs);
  }

  /** The server this attempt goes to. */
  get server(): UpstreamServer {
    return this.#lease.server;
  }

  /** The selected server's origin plus the request's own path and query, byte for byte (request-target.ts). */
  get upstreamUrl(): string {
    return upstreamUrl(this.#lease.server.url, this.target);
  }

  /** True when MAX_REQUEST_BODY_BYTES is set: the forwarder must then report each chunk to `countRequestBytes`. */
  get metersRequestBody(): boolean {
    return this.#deps.maxRequestBodyBytes !== undefined;
  }

  get ended(): boolean {
    return this.#phase === 'ended';
  }

  /** Runs `callback` once, at the single exit (a forwarder's listener cleanup). */
  atExit(callback: () => void): void {
    this.#atExit.push(callback);
  }

  /**
   * The client went away, or its upload failed to read (the same thing: nobody is left to answer). Stops
   * the upstream request; while the body streams, that is the end of the exchange even if the runtime never
   * cancels the stream.
   */
  clientGone(): void {
    if (this.#phase === 'ended') return;
    this.#controller.abort(STOP_REASON.clientGone);
    if (this.#phase === 'streaming') this.#exit('client_gone');
  }

  /** `n` more bytes of request body were read. False once MAX_REQUEST_BODY_BYTES is passed: stop reading, the exchange is stopping. */
  countRequestBytes(n: number): boolean {
    this.#requestBytes += n;
    const limit = this.#deps.maxRequestBodyBytes;
    if (limit === undefined || this.#requestBytes <= limit) return true;
    this.#controller.abort(STOP_REASON.bodyTooLarge);
    return false;
  }

  /** `n` more response body bytes were handed to the runtime (the Web path's pass-through counts them). */
  countResponseBytes(n: number): void {
    this.#responseBytes = (this.#responseBytes < 0 ? 0 : this.#responseBytes) + n;
  }

  /**
   * The server's response head arrived. Applies the response header rules to `headers` in place (dropping the
   * encoding headers when `bodyWasDecoded`, as the upstream client reports) and says whether a body follows.
   * The forwarder then sends the head and reports `headSent()`, or `unrepresentable()` if it could not.
   */
  responseHead(status: number, headers: HeaderMap, bodyWasDecoded: boolean): ResponsePlan {
    clearTimeout(this.#timer);
    this.#headersMs = performance.now() - this.#startedAt;
    this.#status = status;
    // Where the runtime sends the body natively, the access log's bytes out is the declared length.
    const length = headers.get('content-length');
    if (length !== null) this.#declaredResponseBytes = Number(length) || 0;
    prepareClientResponseHeaders(headers, this.requestId, bodyWasDecoded);
    // Sticky sessions: appended, so the server's own cookies stay as they are (RFC 6265 §3: one cookie per line).
    if (this.setCookie !== undefined) headers.append('set-cookie', this.setCookie);
    // A 205 never has content (RFC 9110 §15.3.6), but HTTP/1.1 framing does not know that (RFC 9112 §6.3): say so.
    if (status === 205) headers.set('content-length', '0');
    const withBody = responseCarriesBody(this.method, status);
    return { withBody, bufferLength: withBody ? responseBufferLength(headers, this.#deps.responseBufferBytes ?? 0) : undefined };
  }

  /**
   * The whole of a buffered body (ResponsePlan.bufferLength) is in hand and the forwarder is about to send head and
   * body at once: the server's side of the exchange is over, so it ends here, as nginx's proxy_buffering frees the peer.
   */
  responseRead(): void {
    this.headSent(false);
  }

  /** The head reached the client's connection: the response counts now (time to headers). One sent without a body ends here. */
  headSent(withBody: boolean): void {
    if (this.#phase !== 'waiting') return;
    this.#phase = 'streaming';
    this.#deps.selection.responded(this.server, this.#headersMs ?? 0);
    if (!withBody) this.end();
  }

  /** The response body has been sent in full (or the runtime reported the response done). */
  end(): void {
    if (this.#phase === 'streaming') this.#exit('responded');
  }

  /**
   * The upstream request failed. Before the head: what to answer, classified by why the exchange stopped
   * (anything not stopped on purpose is the server's fault). After it: cut the client's connection, so a
   * truncated body is never presented as complete.
   */
  failed(error: unknown): FailureAction {
    if (this.#phase === 'ended') return { do: 'nothing' };
    clearTimeout(this.#timer);
    if (this.#phase === 'streaming') {
      this.#exit(this.signal.aborted && this.signal.reason === STOP_REASON.clientGone ? 'client_gone' : 'upstream_reset');
      return { do: 'reset' };
    }
    const reason: unknown = this.signal.aborted ? this.signal.reason : error;
    const server = this.server;
    const log = this.#deps.log;
    const requestId = this.requestId;
    if (reason === STOP_REASON.clientGone) {
      log.debug('Client went away before {server} answered', { event: 'client_gone', server: server.url, requestId });
      return this.#answer('client_gone', 499, 'client closed the request');
    }
    const limit = this.#deps.maxRequestBodyBytes;
    if (reason === STOP_REASON.bodyTooLarge) {
      // The client's fault, not the server's: no error against the server, no health change.
      log.info('Request body exceeded MAX_REQUEST_BODY_BYTES={limit} while streaming; answering 413', { event: 'body_too_large', limit, server: server.url, requestId });
      return this.#answer('body_too_large', 413, `request body exceeds the limit of ${limit} bytes`);
    }
    const description = describeError(error);
    if (this.#headersMs !== undefined && reason !== STOP_REASON.timeout) {
      // A buffered body (ResponsePlan.bufferLength) broke off: nothing reached the client yet, so it still gets a 502.
      log.warn('{server} broke off its response: {reason}', { event: 'forward_failed', server: server.url, kind: 'upstream_reset', reason: description, requestId });
      return this.#answer('upstream_reset', 502, `upstream server ${server.url} broke off its response (${description})`);
    }
    const kind = reason === STOP_REASON.timeout ? 'timeout' : 'unreachable';
    this.#deps.health.markUnhealthy(server, description);
    log.warn('Forwarding to {server} failed: {reason}', { event: 'forward_failed', server: server.url, kind, reason: description, requestId });
    return kind === 'timeout'
      ? this.#answer(kind, 504, `upstream server ${server.url} did not answer within ${this.#deps.upstreamTimeoutMs} ms`)
      : this.#answer(kind, 502, `upstream server ${server.url} is unreachable (${description})`);
  }

  /** The server answered, but the runtime cannot represent its response to the client: 502, an error against the server. */
  unrepresentable(error: unknown): FailureAction {
    if (this.#phase === 'ended') return { do: 'nothing' };
    if (this.#phase === 'streaming') return this.failed(error);
    clearTimeout(this.#timer);
    const reason = describeError(error);
    const server = this.server.url;
    this.#deps.log.error('Response from {server} could not be forwarded: {reason}', { event: 'forward_failed', server, kind: 'bad_response', reason, requestId: this.requestId });
    return this.#answer('unrepresentable', 502, `upstream server ${server} sent a response that cannot be forwarded (${reason})`);
  }

  #answer(outcome: OutcomeKind, status: number, error: string): FailureAction {
    this.#status = status;
    this.#exit(outcome);
    return { do: 'answer', answer: { status, error, requestId: this.requestId } };
  }

  /** The single exit: releases the lease and tells the observers, exactly once. */
  #exit(outcome: OutcomeKind): void {
    if (this.#phase === 'ended') return;
    this.#phase = 'ended';
    clearTimeout(this.#timer);
    this.#lease.release();
    for (const callback of this.#atExit) callback();
    const durationMs = performance.now() - this.#startedAt;
    const status = outcome === 'client_gone' && this.#headersMs === undefined ? 499 : this.#status;
    this.#deps.record(this.#outcome(outcome, status, durationMs));
    const observers = this.#deps.observers;
    if (observers.length === 0) return;
    const record: ExchangeRecord = {
      requestId: this.requestId,
      method: this.method,
      target: this.target,
      server: this.server.url,
      outcome,
      status,
      headersMs: this.#headersMs,
      durationMs,
      requestBytes: this.#requestBytes,
    };
    for (const observer of observers) observer.exchangeEnded(record);
  }

  /** What observability records: one object per request, built once at the exit. */
  #outcome(outcome: OutcomeKind, status: number, totalMs: number): RequestOutcome<UpstreamServer> {
    const request = this.#request;
    return {
      startedAt: this.#startedAtEpoch,
      requestId: this.requestId,
      clientAddress: request.clientAddress,
      method: this.method,
      target: this.target,
      server: this.server,
      status,
      failure: FAILURE_OF[outcome],
      // Client-caused ends are never errors against the server (body_too_large is the client's fault too).
      abandoned: status === 499 || outcome === 'body_too_large',
      // One attempt until retries land; they fill both fields.
      attempts: 1,
      serversTried: NO_SERVERS_TRIED,
      headersMs: this.#headersMs,
      totalMs,
      bytesIn: this.#requestBytes > 0 ? this.#requestBytes : request.declaredRequestBytes,
      bytesOut: this.#responseBytes >= 0 ? this.#responseBytes : this.#declaredResponseBytes,
      referer: request.referer,
      userAgent: request.userAgent,
    };
  }
}

/** What Admission hands an Exchange about the request. */
export interface ExchangeRequest {
  readonly requestId: string;
  readonly method: string;
  readonly target: string;
  readonly upstreamHeaders: HeaderMap;
  /** The request as selection read it (hash key, sticky cookie): a retry chooses again from it. */
  readonly view: RequestView;
  readonly clientTls: boolean;
  /** The sticky cookie to set on the response, when selection chose anew. */
  readonly setCookie: string | undefined;
  readonly clientAddress: string;
  readonly referer: string;
  readonly userAgent: string;
  /** The request's Content-Length (0 without one): bytes in where the runtime streams the body without metering it. */
  readonly declaredRequestBytes: number;
}

const NO_SERVERS_TRIED: readonly string[] = [];
const FAILURE_OF: Record<OutcomeKind, FailureKind | undefined> = {
  responded: undefined,
  client_gone: undefined,
  body_too_large: undefined,
  timeout: 'timeout',
  unreachable: 'connect',
  unrepresentable: undefined,
  upstream_reset: 'reset',
};
