/**
 * The life of one forwarded request, from admission to its single exit, whichever I/O path moves its bytes.
 * Each event the forwarder reports returns what it must do or answer; the forwarder decides nothing itself.
 * Like Pingora's ProxyHttp phases (one fixed order, I/O apart) and nginx's one peer-free exit per request
 * (`ngx_http_upstream_free_round_robin_peer`): the lease is released and the outcome recorded exactly once.
 */
import type { InFlightLease } from '../upstream/in-flight.ts';
import type { Logger } from '../logging.ts';
import type { FailureKind, RequestOutcome } from '../stats/request-outcome.ts';
import type { RequestView } from '../selection/hash-key.ts';
import type { RequestSelection } from '../selection/request-selection.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import { prepareClientResponseHeaders } from './forwarded-headers.ts';
import type { HeaderMap } from './hop-by-hop.ts';
import { certificateProblem, describeError, describeErrorChain } from './describe-error.ts';
import type { ErrorAnswer } from './json-error.ts';
import { AttemptSignal } from './attempt-signal.ts';
import { type LimitOwner, LimitTimer } from './limit-timer.ts';
import type { IntrusiveList } from './intrusive-list.ts';
import { rewriteLocationHeaders } from './location-rewrite.ts';
import { upstreamUrl } from './request-target.ts';
import { responseBufferLength } from './response-buffering.ts';
import { classifyFailure, STOP_REASON } from './classify-attempt.ts';
import { BodyLengthError, type BodyPlan } from './replayable-body.ts';
import type { Resilience } from './resilience.ts';
import type { RetryToken } from './retry-policy.ts';
import type { AttemptOutcome } from '../upstream/attempt-outcome.ts';

export { STOP_REASON };

/** How an exchange ended. `responded` is the only one where the server's whole answer reached the client. */
export type OutcomeKind = 'responded' | 'client_gone' | 'body_too_large' | 'invalid_body' | 'timeout' | 'unreachable' | 'unrepresentable' | 'upstream_reset';

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
  readonly resilience: Resilience;
  /** Takes a lease on the server a retry goes to. */
  readonly acquire: (server: UpstreamServer) => InFlightLease;
  readonly log: Logger;
  /** Every exchange not yet at its exit, so shutdown can end those still open at its deadline. */
  readonly open: IntrusiveList<Exchange>;
  readonly observers: readonly ExchangeObserver[];
  /** From the request being fully sent to the response head (0: no limit). */
  readonly upstreamTimeoutMs: number;
  /** CLIENT_BODY_TIMEOUT_MS: longest gap between request body chunks (0: no limit). */
  readonly clientBodyTimeoutMs?: number;
  /** UPSTREAM_READ_TIMEOUT_MS: longest gap between response body chunks once the response started (0: no limit). */
  readonly upstreamReadTimeoutMs?: number;
  readonly maxRequestBodyBytes: number | undefined;
  /** REWRITE_LOCATION: redirects to the server's own origin point at the client's origin instead. */
  readonly rewriteLocation?: boolean;
  /** VIA=off adds no Via header. */
  readonly via?: boolean;
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
  /** RETRY_ON_STATUS: send nothing, discard this response's body, and send the request again (to `upstreamUrl`). */
  readonly retry?: true;
}

/** What the forwarder must do after a failure: answer (nothing was sent yet), or cut the client's connection. */
export type FailureAction =
  | { readonly do: 'answer'; readonly answer: ErrorAnswer }
  | { readonly do: 'reset' }
  | { readonly do: 'nothing' }
  /** Send the request again, to `upstreamUrl` (another server), with `signal` and the replay body. */
  | { readonly do: 'retry' };

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

export class Exchange implements LimitOwner {
  readonly requestId: string;
  readonly method: string;
  /** Path and query, as sent upstream. */
  readonly target: string;
  /** The headers to send upstream, header rules already applied. */
  readonly upstreamHeaders: HeaderMap;
  /** How the request body is sent: none, buffered for replay (RETRY_BUFFER_BYTES), or streamed once. */
  readonly bodyPlan: BodyPlan;
  /** What selection read about the request, and whether it came over TLS: a retry chooses again with them. */
  readonly view: RequestView;
  readonly clientTls: boolean;
  /** The sticky cookie to set on the response (request-selection.ts), if any; a retry on another server replaces it. */
  setCookie: string | undefined;
  readonly #deps: ExchangeDeps;
  readonly #startedAt = performance.now();
  // One lease and stop signal per attempt: a retry takes a new lease on another server, inside this exchange.
  #stop = new AttemptSignal();
  // Each limit is the fault of one side: the client's upload gaps (408), the server's wait and read gaps (504, cut).
  // They stop whichever attempt is current when they fire.
  readonly #upstreamTimer: LimitTimer;
  readonly #clientBodyTimer: LimitTimer;
  readonly #readTimer: LimitTimer;
  /** `scheme://host` the client used (location-rewrite.ts), '' without a Host. */
  readonly #clientOrigin: string;
  #lease: InFlightLease;
  readonly #tried: UpstreamServer[];
  #retryToken: RetryToken | undefined;
  #replayBody: Uint8Array<ArrayBuffer> | undefined;
  /** The whole request has been handed to the upstream client: a timeout from then on is the server's. */
  #requestSent: boolean;
  #clientLeft = false;
  /** Why the last failure was not retried, for the log. */
  #noRetry: string | undefined;
  #phase: Phase = 'waiting';
  #status = 0;
  #headersMs: number | undefined;
  #requestBytes = 0;
  /** Response body bytes handed to the runtime; -1 until counted, then the declared Content-Length stands in. */
  #responseBytes = -1;
  #declaredResponseBytes = 0;
  /** The last failure was the client's (a timeout while it was still uploading): never an error against the server. */
  #clientFault = false;
  readonly #request: ExchangeRequest;
  readonly #startedAtEpoch = Date.now();
  /** Made on the first `atExit`: most exchanges (the Web path's, a request without a body on Node's) have none. */
  #atExit: (() => void)[] | undefined = undefined;
  /** Its neighbours in `ExchangeDeps.open`, for that list only (intrusive-list.ts). */
  listPrevious: Exchange | undefined = undefined;
  listNext: Exchange | undefined = undefined;

  constructor(deps: ExchangeDeps, request: ExchangeRequest, lease: InFlightLease) {
    this.#deps = deps;
    this.#request = request;
    this.requestId = request.requestId;
    this.method = request.method;
    this.target = request.target;
    this.upstreamHeaders = request.upstreamHeaders;
    this.bodyPlan = request.bodyPlan ?? { kind: 'none' };
    this.#requestSent = this.bodyPlan.kind === 'none';
    this.view = request.view;
    this.clientTls = request.clientTls;
    this.setCookie = request.setCookie;
    this.#lease = lease;
    // A literal, exactly sized: `[]` then `push` reserves room for 17 servers, and most requests try one.
    this.#tried = [lease.server];
    this.#clientOrigin = request.clientOrigin ?? '';
    // The Exchange is its timers' owner (`limitExpired`): no closure, nor their context, per timer and request.
    this.#upstreamTimer = new LimitTimer(deps.upstreamTimeoutMs, this, STOP_REASON.timeout);
    this.#clientBodyTimer = new LimitTimer(deps.clientBodyTimeoutMs ?? 0, this, STOP_REASON.clientBodyTimeout);
    this.#readTimer = new LimitTimer(deps.upstreamReadTimeoutMs ?? 0, this, STOP_REASON.readTimeout);
    // Without a body the request is sent as soon as the forwarder calls the server: UPSTREAM_TIMEOUT_MS runs from now.
    if (this.#requestSent) this.#upstreamTimer.restart();
    deps.open.append(this);
  }

  /** Called by one of its LimitTimers: that limit passed, and the current attempt stops with its STOP_REASON. */
  limitExpired(reason: unknown): void {
    this.#stop.abort(reason);
  }

  /** True when the forwarder must report each response body chunk (UPSTREAM_READ_TIMEOUT_MS is set). */
  get limitsResponseGaps(): boolean {
    return this.#readTimer.limited;
  }

  /** The forwarder starts reading the request body: CLIENT_BODY_TIMEOUT_MS runs from now, restarted by each chunk. */
  requestBodyStarted(): void {
    if (this.#phase !== 'ended') this.#clientBodyTimer.restart();
  }

  /** The whole request, body included, has been handed to the upstream client: UPSTREAM_TIMEOUT_MS runs from now (issue 8). */
  requestSent(): void {
    this.#requestSent = true;
    this.#clientBodyTimer.cancel();
    if (this.#phase === 'waiting' && this.#headersMs === undefined) this.#upstreamTimer.restart();
  }

  /**
   * The forwarder waits for the next response body chunk: UPSTREAM_READ_TIMEOUT_MS runs from now until
   * `responseChunk()`. The time a slow client takes to want the next chunk is not the server's gap.
   */
  awaitingResponseBytes(): void {
    if (this.#phase !== 'ended') this.#readTimer.restart();
  }

  /** A response body chunk arrived from the server. */
  responseChunk(): void {
    this.#readTimer.cancel();
  }

  /** SHUTDOWN_TIMEOUT_MS has passed: stop the upstream request; a stream still open is cut, a wait answered 503. */
  terminate(): void {
    this.#clientLeft = true;
    this.#stop.abort(STOP_REASON.shutdown);
  }

  /** Aborted with a STOP_REASON when the current attempt must stop: pass it to the upstream request of this attempt. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** The same, without a Web AbortSignal, for an upstream client that takes an EventTarget-like signal (undici). */
  get stopSignal(): AttemptSignal {
    return this.#stop;
  }

  /** The buffered request body to send on every attempt (bodyPlan `buffer`), once `bodyBuffered` was called. */
  get replayBody(): Uint8Array<ArrayBuffer> | undefined {
    return this.#replayBody;
  }

  /** The body was read whole (bodyPlan `buffer`); every attempt sends these bytes. */
  bodyBuffered(body: Uint8Array<ArrayBuffer>): void {
    this.#replayBody = body;
    this.#requestBytes = body.byteLength;
    this.requestSent();
  }

  /** A streamed request body was read to its end and handed upstream. */
  requestBodySent(): void {
    this.requestSent();
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
    return this.#deps.maxRequestBodyBytes !== undefined || this.#clientBodyTimer.limited || this.#upstreamTimer.limited;
  }

  get ended(): boolean {
    return this.#phase === 'ended';
  }

  /** Runs `callback` once, at the single exit (a forwarder's listener cleanup). */
  atExit(callback: () => void): void {
    if (this.#atExit === undefined) this.#atExit = [callback];
    else this.#atExit.push(callback);
  }

  /**
   * The client went away, or its upload failed to read (the same thing: nobody is left to answer). Stops
   * the upstream request; while the body streams, that is the end of the exchange even if the runtime never
   * cancels the stream.
   */
  clientGone(): void {
    if (this.#phase === 'ended') return;
    this.#clientLeft = true;
    this.#stop.abort(STOP_REASON.clientGone);
    if (this.#phase === 'streaming') this.#exit('client_gone');
  }

  /** `n` more bytes of request body were read. False once MAX_REQUEST_BODY_BYTES is passed: stop reading, the exchange is stopping. */
  countRequestBytes(n: number): boolean {
    this.#requestBytes += n;
    if (this.#phase !== 'ended') this.#clientBodyTimer.restart();
    const limit = this.#deps.maxRequestBodyBytes;
    if (limit === undefined || this.#requestBytes <= limit) return true;
    this.#stop.abort(STOP_REASON.bodyTooLarge);
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
    this.#upstreamTimer.cancel();
    const outcome: AttemptOutcome = { kind: 'response', status };
    this.#deps.resilience.record(this.server, outcome);
    if (this.#deps.resilience.parts.retry.options.retryOnStatus.length > 0 && this.#retry(outcome)) {
      return { withBody: false, bufferLength: undefined, retry: true };
    }
    this.#headersMs = performance.now() - this.#startedAt;
    this.#status = status;
    // Where the runtime sends the body natively, the access log's bytes out is the declared length.
    const length = headers.get('content-length');
    if (length !== null) this.#declaredResponseBytes = Number(length) || 0;
    prepareClientResponseHeaders(headers, this.requestId, bodyWasDecoded, { via: this.#deps.via });
    if (this.#deps.rewriteLocation === true) rewriteLocationHeaders(headers, this.server.url, this.#clientOrigin);
    // Sticky sessions: appended, so the server's own cookies stay as they are (RFC 6265 §3: one cookie per line).
    if (this.setCookie !== undefined) headers.append('set-cookie', this.setCookie);
    // A 205 never has content (RFC 9110 §15.3.6), but HTTP/1.1 framing does not know that (RFC 9112 §6.3): say so.
    if (status === 205) headers.set('content-length', '0');
    // A 204 must not carry Content-Length (RFC 9110 §8.6); a 304 keeps it: it describes the selected representation.
    if (status === 204) headers.delete('content-length');
    const withBody = responseCarriesBody(this.method, status);
    if (withBody) this.#readTimer.restart();
    return { withBody, bufferLength: withBody ? responseBufferLength(headers, this.#deps.responseBufferBytes ?? 0) : undefined };
  }

  /**
   * The whole of a buffered body (ResponsePlan.bufferLength) is in hand and the forwarder is about to send head and
   * body at once: the server's side of the exchange is over, so it ends here, as nginx's proxy_buffering frees the peer.
   */
  responseRead(): void {
    this.#readTimer.cancel();
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
    this.#cancelTimers();
    if (this.#phase === 'streaming') {
      if (this.#stop.reason === STOP_REASON.readTimeout) {
        this.#deps.log.warn('{server} sent no response bytes for UPSTREAM_READ_TIMEOUT_MS={limit} ms; closing the client connection', {
          event: 'upstream_read_timeout',
          server: this.server.url,
          limit: this.#readTimer.ms,
          requestId: this.requestId,
        });
      }
      this.#exit(this.#stop.aborted && this.#stop.reason === STOP_REASON.clientGone ? 'client_gone' : 'upstream_reset');
      return { do: 'reset' };
    }
    const stop = this.#stop;
    const reason: unknown = stop.aborted ? stop.reason : error;
    const server = this.server;
    const failure = classifyFailure(error, stop.aborted ? stop.reason : undefined, this.#requestSent);
    const outcome: AttemptOutcome = { kind: 'failure', failure };
    this.#deps.resilience.record(server, outcome);
    const description = describeError(error);
    if (failure !== 'client_fault' && failure !== 'not_sent' && this.#retry(outcome, description)) return { do: 'retry' };
    const log = this.#deps.log;
    const requestId = this.requestId;
    if (reason === STOP_REASON.shutdown) {
      this.#clientFault = true;
      return this.#answer('unreachable', 503, 'Fairway is shutting down');
    }
    if (reason === STOP_REASON.clientGone) {
      log.debug('Client went away before {server} answered', { event: 'client_gone', server: server.url, requestId });
      return this.#answer('client_gone', 499, 'client closed the request');
    }
    if (reason === STOP_REASON.clientBodyTimeout) {
      // The client stopped sending: its fault, never the server's (issue 8).
      this.#clientFault = true;
      log.info('Client sent no request body bytes for CLIENT_BODY_TIMEOUT_MS={limit} ms; answering 408', {
        event: 'client_body_timeout',
        limit: this.#clientBodyTimer.ms,
        requestId,
      });
      return this.#answer('client_gone', 408, 'the request body stopped arriving');
    }
    const limit = this.#deps.maxRequestBodyBytes;
    if (reason === STOP_REASON.bodyTooLarge) {
      // The client's fault, not the server's: no error against the server, no health change.
      log.info('Request body exceeded MAX_REQUEST_BODY_BYTES={limit} while streaming; answering 413', {
        event: 'body_too_large',
        limit,
        server: server.url,
        requestId,
      });
      return this.#answer('body_too_large', 413, `request body exceeds the limit of ${limit} bytes`);
    }
    if (error instanceof BodyLengthError) {
      log.info('Invalid request body: {reason}; answering 400', { event: 'invalid_body', reason: error.message, requestId });
      return this.#answer('invalid_body', 400, error.message);
    }
    if (this.#headersMs !== undefined && reason !== STOP_REASON.timeout) {
      // A buffered body (ResponsePlan.bufferLength) broke off: nothing reached the client yet, so it still gets a 502.
      log.warn('{server} broke off its response: {reason}', {
        event: 'forward_failed',
        server: server.url,
        kind: 'upstream_reset',
        reason: description,
        requestId,
      });
      return this.#answer('upstream_reset', 502, `upstream server ${server.url} broke off its response (${description})`);
    }
    const kind = reason === STOP_REASON.timeout ? 'timeout' : 'unreachable';
    // A timeout while the client was still uploading is the client's (issue 8, defect 1): no error against the server.
    this.#clientFault = failure === 'client_fault';
    // The log gets the whole cause chain; the client gets a short reason and the request id, never an address or library text.
    const certificate = kind === 'timeout' ? undefined : certificateProblem(error);
    const cause = kind === 'timeout' ? `no response within UPSTREAM_TIMEOUT_MS=${this.#deps.upstreamTimeoutMs} ms` : (certificate ?? describeErrorChain(error));
    log.warn('Forwarding to {server} failed: {reason}', {
      event: 'forward_failed',
      server: server.url,
      kind,
      reason: cause,
      tries: this.#tried.length,
      noRetry: this.#noRetry ?? failure,
      requestId,
    });
    if (kind === 'timeout') return this.#answer(kind, 504, 'the upstream server did not answer in time');
    // A refused certificate is the operator's to fix, and says nothing internal: the client may know (issue 10).
    return this.#answer(kind, 502, certificate === undefined ? 'the upstream server could not be reached' : 'TLS certificate of the server not accepted');
  }

  /** The server answered, but the runtime cannot represent its response to the client: 502, an error against the server. */
  unrepresentable(error: unknown, clientReason = 'the upstream server sent a response that cannot be forwarded'): FailureAction {
    if (this.#phase === 'ended') return { do: 'nothing' };
    if (this.#phase === 'streaming') return this.failed(error);
    this.#cancelTimers();
    const reason = describeErrorChain(error);
    const server = this.server.url;
    this.#deps.log.error('Response from {server} could not be forwarded: {reason}', {
      event: 'forward_failed',
      server,
      kind: 'bad_response',
      reason,
      requestId: this.requestId,
    });
    return this.#answer('unrepresentable', 502, clientReason);
  }

  /**
   * Starts a new attempt on another server when the retry policy allows it: the discarded attempt is stopped, its
   * lease released, and the new one gets its own UPSTREAM_TIMEOUT_MS. True when the forwarder must send again.
   */
  #retry(outcome: AttemptOutcome, reason?: string): boolean {
    if (this.#clientLeft) return false;
    const resilience = this.#deps.resilience;
    const next = resilience.retryTarget(this.#tried);
    const decision = resilience.decide({
      method: this.method,
      outcome,
      tries: this.#tried.length,
      responseStarted: this.#phase !== 'waiting',
      bodyReplayable: this.bodyPlan.kind === 'none' || (this.bodyPlan.kind === 'buffer' && this.#replayBody !== undefined),
      elapsedMs: performance.now() - this.#startedAt,
      otherServerAvailable: next !== undefined,
    });
    if (!decision.retry || next === undefined) {
      this.#noRetry = decision.retry ? 'no_other_server' : decision.reason;
      return false;
    }
    const from = this.server;
    this.#upstreamTimer.cancel();
    this.#readTimer.cancel();
    this.#stop.abort(STOP_REASON.superseded);
    this.#releaseAttempt();
    this.#retryToken = decision.token;
    resilience.retried(from, next);
    this.#deps.log.info('Retrying {method} {target} on {next} after {server} failed: {reason}', {
      event: 'retry',
      method: this.method,
      target: this.target,
      server: from.url,
      next: next.url,
      reason: reason ?? (outcome.kind === 'response' ? `status ${outcome.status}` : outcome.failure),
      tries: this.#tried.length,
      requestId: this.requestId,
    });
    this.#lease = this.#deps.acquire(next);
    this.#tried.push(next);
    // A sticky cookie naming the failed server must not be set; the client's next request chooses afresh.
    this.setCookie = undefined;
    this.#stop = new AttemptSignal();
    // The replayed request is sent at once (no body, or the buffered one): UPSTREAM_TIMEOUT_MS runs anew per try.
    this.#upstreamTimer.restart();
    return true;
  }

  /** Releases the current attempt's lease and retry token, and wakes a request queued for room. */
  #releaseAttempt(): void {
    this.#lease.release();
    this.#retryToken?.release();
    this.#retryToken = undefined;
    this.#deps.resilience.parts.queue.released();
  }

  #cancelTimers(): void {
    this.#upstreamTimer.cancel();
    this.#clientBodyTimer.cancel();
    this.#readTimer.cancel();
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
    this.#deps.open.delete(this);
    this.#cancelTimers();
    this.#releaseAttempt();
    const atExit = this.#atExit;
    if (atExit !== undefined) { for (const callback of atExit) callback(); }
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
      failure: this.#clientFault ? undefined : FAILURE_OF[outcome],
      // Client-caused ends are never errors against the server (issue 8, defect 1).
      abandoned: status === 499 || this.#clientFault || outcome === 'body_too_large' || outcome === 'invalid_body',
      attempts: this.#tried.length,
      serversTried: this.#tried.length === 1 ? NO_SERVERS_TRIED : this.#tried.map((server) => server.url),
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
  /** How the request body is sent: none, buffered for replay (RETRY_BUFFER_BYTES), or streamed once. */
  readonly bodyPlan?: BodyPlan;
  readonly clientAddress: string;
  readonly referer: string;
  readonly userAgent: string;
  /** The request's Content-Length (0 without one): bytes in where the runtime streams the body without metering it. */
  readonly declaredRequestBytes: number;
  /** `scheme://host` the client used, for REWRITE_LOCATION ('' without a Host). */
  readonly clientOrigin?: string;
}

/** Only one server tried: the access log's servers-tried list stays empty, with no allocation. */
const NO_SERVERS_TRIED: readonly string[] = [];
const FAILURE_OF: Record<OutcomeKind, FailureKind | undefined> = {
  responded: undefined,
  client_gone: undefined,
  body_too_large: undefined,
  invalid_body: undefined,
  timeout: 'timeout',
  unreachable: 'connect',
  unrepresentable: undefined,
  upstream_reset: 'reset',
};
