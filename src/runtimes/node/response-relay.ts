/**
 * One attempt's upstream request as an undici dispatch handler: the server's response head and body go straight
 * into the client's ServerResponse, and the attempt's stop signal aborts the request.
 *
 * Written by hand instead of undici's `dispatcher.stream()`, which does the same through an AsyncResource, a
 * Promise, `stream.finished()` (about ten listeners on the response and its socket), a `drain` listener and a
 * closure on the signal per request. Under load that garbage, and what it kept reachable from each request in
 * flight, was what V8 promoted out of the young generation: Fairway's scavenges cost 4–5× the ceiling's per
 * request (issue 12's profile). undici's low-level `dispatch(options, handler)` is its documented extension point
 * and hands the handler an `abort` function in `onConnect`, so no signal needs to reach undici at all.
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import { type Dispatcher, util } from 'undici';
import type { Exchange } from '../../core/proxy/exchange.ts';
import type { AttemptSignal } from '../../core/proxy/attempt-signal.ts';
import { unrelayableStatus } from '../../core/proxy/response-status.ts';
import { type HeaderObject, NodeHeaders } from './node-headers.ts';
import { ownsItsBuffer, releasesChunks, releaseWhenWritten } from './chunk-release.ts';

/** What the relay reports to the forwarder that started the attempt. */
export interface RelayOwner {
  /** How the attempt ended: `error` undefined when the response reached the client (or was dropped for a retry). */
  attemptSettled(error: unknown, retried: boolean): void;
  /** node:http refused the server's head, before the client has been sent anything: answer in its place. */
  answerUnrepresentable(error: unknown): void;
}

// Where the body goes: nowhere yet, the client, or nowhere (HEAD, 204, 304, an unrelayable status, a retry).
const NO_SINK = 0;
const TO_CLIENT = 1;
const DISCARD = 2;

export class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly #exchange: Exchange;
  readonly #res: ServerResponse;
  readonly #decodes: boolean;
  readonly #body: unknown;
  readonly #owner: RelayOwner;
  #signal: AttemptSignal | undefined;
  #abort: ((reason?: Error) => void) | undefined;
  /** The stop reason, when the attempt was stopped before undici handed over `abort` (undici's own `addSignal` does the same). */
  #reason: unknown = undefined;
  #sink = NO_SINK;
  #retried = false;
  #done = false;
  #resume: (() => void) | undefined;
  /** The 'drain' listener, made the first time the client cannot take more (most small responses never wait). */
  #drained: (() => void) | undefined;
  /** The declared Content-Length (-1: none), and how much of it has arrived. */
  #declared = -1;
  #received = 0;
  /** The body's last chunk, kept for `res.end(chunk)`: head (if still unsent) and body then go out in one write, with no cork. */
  #last: Buffer | undefined;
  /** Bytes out for the access log where no Content-Length declares them. */
  #countsWrites = false;

  constructor(exchange: Exchange, res: ServerResponse, body: unknown, decodes: boolean, owner: RelayOwner) {
    this.#exchange = exchange;
    this.#res = res;
    this.#body = body;
    this.#decodes = decodes;
    this.#owner = owner;
    // A failed upload read fails the attempt at once, even while the request still waits for a connection (as stream() does).
    if (isStreamBody(body)) body.on('error', (error: unknown) => this.onError(error as Error));
    const signal = exchange.stopSignal;
    if (signal.aborted) this.#reason = signal.reason;
    else {
      this.#signal = signal;
      signal.addEventListener('abort', this);
    }
  }

  /**
   * The signal's 'abort' (the relay is its listener object, so no closure is made per attempt): the attempt must stop (a
   * deadline, the client leaving, shutdown). undici aborts the request, and onError follows.
   */
  handleEvent(): void {
    const reason = this.#signal?.reason;
    this.#signal = undefined;
    if (this.#abort !== undefined) this.#abort(reason as Error);
    else this.#reason = reason;
  }

  #unlisten(): void {
    const signal = this.#signal;
    if (signal === undefined) return;
    this.#signal = undefined;
    signal.removeEventListener('abort', this);
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.#reason !== undefined) {
      abort(this.#reason as Error);
      return;
    }
    this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim responses are not relayed (node:http answers Expect: 100-continue itself).
    if (statusCode < 200 || this.#sink !== NO_SINK) return true;
    const exchange = this.#exchange;
    const res = this.#res;
    const unrelayable = unrelayableStatus(statusCode);
    if (unrelayable !== undefined) {
      this.#owner.answerUnrepresentable(new Error(unrelayable));
      this.#sink = DISCARD;
      return true;
    }
    const responseHeaders = new NodeHeaders(util.parseHeaders(rawHeaders) as HeaderObject);
    const plan = exchange.responseHead(statusCode, responseHeaders, this.#decodes);
    if (plan.retry) {
      this.#retried = true;
      this.#sink = DISCARD;
      return true;
    }
    try {
      res.writeHead(statusCode, responseHeaders.object as Record<string, string | string[]>);
    } catch (error) {
      // node:http refuses what it cannot represent (a control character in a header value, say): 502, as on the Web path.
      // Thrown on, undici aborts the request with it, and onError settles the attempt.
      this.#owner.answerUnrepresentable(error);
      throw error;
    }
    exchange.headSent(plan.withBody);
    if (!plan.withBody) {
      res.end();
      this.#sink = DISCARD;
      return true;
    }
    this.#sink = TO_CLIENT;
    this.#resume = resume;
    // A body without a declared length may be a stream whose first bytes come much later (SSE): the
    // client gets the head now. With a length, the head goes out with the first bytes, in one write.
    const length = responseHeaders.object['content-length'];
    if (length === undefined) {
      res.flushHeaders();
      this.#countsWrites = true;
    } else this.#declared = Number(length);
    return !res.writableNeedDrain;
  }

  onData(chunk: Buffer): boolean {
    if (this.#sink !== TO_CLIENT) return true;
    const exchange = this.#exchange;
    // UPSTREAM_READ_TIMEOUT_MS limits the server's gaps between chunks, not the whole body: the Exchange's timer stops
    // at each chunk and runs again once the client can take more, as on the Web path.
    const limitsGaps = exchange.limitsResponseGaps;
    if (limitsGaps) exchange.responseChunk();
    if (this.#countsWrites) exchange.countResponseBytes(chunk.length);
    // The chunk that completes the declared length: undici reports the end right after it (onComplete), so it waits for that.
    if ((this.#received += chunk.length) === this.#declared) {
      this.#last = chunk;
      return true;
    }
    const res = this.#res;
    // A chunk that is a whole socket read of its own is freed once written, not at V8's next GC (chunk-release.ts).
    // A decoded body's chunks may be views of the decoder's reused output buffer, so they are never freed.
    const written = releasesChunks && !this.#decodes && ownsItsBuffer(chunk) ? res.write(chunk, releaseWhenWritten(chunk)) : res.write(chunk);
    if (written) {
      if (limitsGaps) exchange.awaitingResponseBytes();
      return true;
    }
    // Back-pressure: undici pauses reading from the server until the client has taken what is buffered.
    if (this.#drained === undefined) {
      // The client took what was buffered: read from the server again, and its gap runs from now.
      this.#drained = () => {
        if (this.#done) return;
        if (this.#exchange.limitsResponseGaps) this.#exchange.awaitingResponseBytes();
        this.#resume!();
      };
      res.on('drain', this.#drained);
    }
    return false;
  }

  onComplete(): void {
    this.#unlisten();
    if (this.#sink !== TO_CLIENT) {
      this.#settle(undefined);
      return;
    }
    // The attempt succeeds once node:http has handed the last bytes to the socket: `clientClosed` (below) sees it.
    const last = this.#last;
    this.#last = undefined;
    this.#res.end(last);
  }

  /**
   * The response's 'close', which node:http emits right after 'finish' too: once finished, the attempt succeeded (as
   * stream() reported it at 'finish'); before, the client left and the body did not reach it (stream()'s premature close).
   */
  clientClosed(): void {
    if (this.#done || this.#sink !== TO_CLIENT) return;
    if (this.#res.writableFinished) {
      this.#settle(undefined);
      return;
    }
    const error = Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    this.#settle(error);
    this.#abort?.(error);
  }

  onError(error: Error): void {
    this.#unlisten();
    if (this.#done) return;
    if (this.#sink === TO_CLIENT) {
      // The client's connection is cut so a truncated body is never presented as complete.
      // A stop reason is a symbol: the socket gets an Error, as listeners on it expect.
      if (!this.#res.destroyed) this.#res.destroy(error instanceof Error ? error : new Error(String(error)));
      this.#settle(error);
    } else {
      // As stream() reports an error before any body: on a microtask, after undici has finished with the request.
      queueMicrotask(() => this.#settle(error));
    }
    const body = this.#body;
    if (isStreamBody(body) && !body.destroyed) {
      // undici's own util.destroy: an IncomingMessage loses its socket first, so the client's connection stays up for the answer.
      if (body instanceof IncomingMessage) (body as { socket: unknown }).socket = null;
      body.destroy(error);
    }
  }

  #settle(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#drained !== undefined) this.#res.off('drain', this.#drained);
    this.#owner.attemptSettled(error, this.#retried);
  }
}

interface StreamBody {
  destroyed: boolean;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  destroy(error?: unknown): unknown;
}

function isStreamBody(body: unknown): body is StreamBody {
  return typeof body === 'object' && body !== null && typeof (body as { on?: unknown }).on === 'function' &&
    typeof (body as { destroy?: unknown }).destroy === 'function';
}
