/**
 * Node's native I/O path: node:http in, undici `dispatch` out (response-relay.ts), with no Web Request, Response or stream
 * conversions on the way. Every decision is the core's Exchange, as on the Web path; this file only moves
 * bytes and reports events.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Balancer } from '../../core/balancer.ts';
import type { Admitted } from '../../core/proxy/admission.ts';
import type { Exchange } from '../../core/proxy/exchange.ts';
import { BodyLengthError, readIterableUpTo } from '../../core/proxy/replayable-body.ts';
import { isServerFailure } from '../../core/proxy/classify-attempt.ts';
import { requestIdFor } from '../../core/proxy/forwarded-headers.ts';
import { hostLines } from '../../core/proxy/host.ts';
import { type ErrorAnswer, errorBody, errorHeaders, internalError } from '../../core/proxy/json-error.ts';
import { targetFromRequestLine } from '../../core/proxy/request-target.ts';
import type { UndiciUpstream } from './undici-upstream.ts';
import { type HeaderObject, NodeHeaders } from './node-headers.ts';
import { type RelayOwner, ResponseRelay } from './response-relay.ts';
import { releasableUpload, releasesChunks } from './chunk-release.ts';

/** The request listener, plus one for node:http's 'checkContinue' (a request with `Expect: 100-continue`). */
export type NativeHandler = RequestListener & { checkContinue: RequestListener };

export function createNativeHandler(balancer: Balancer, upstream: UndiciUpstream, admin: RequestListener): NativeHandler {
  const admission = balancer.admission;

  /** `expectsContinue`: send `100 Continue` only once the request is admitted, so a refused body is never uploaded (RFC 9110 §10.1.1). */
  const handle = (req: IncomingMessage, res: ServerResponse, expectsContinue = false): void => {
    // Shutting down: this response carries `Connection: close` and no further request is read from the connection.
    if (balancer.draining) res.shouldKeepAlive = false;
    const headers = new NodeHeaders(req.headers as HeaderObject);
    const target = targetFromRequestLine(req.url ?? '/');
    if (target === undefined) {
      const error = `request target ${JSON.stringify(req.url)} names no path; send an origin-form (/path) or absolute-form target`;
      sendAnswer(res, { status: 400, error, requestId: requestIdFor(headers) });
      return;
    }
    if (balancer.answersOnProxyPort(target)) {
      if (expectsContinue) res.writeContinue();
      req.url = target;
      void admin(req, res);
      return;
    }

    // Before the header rules strip Transfer-Encoding, which is how a chunked body announces itself.
    const hasBody = headers.has('transfer-encoding') || (headers.has('content-length') && headers.get('content-length') !== '0');
    const method = req.method ?? 'GET';
    // Only a request that may wait in the admission queue needs to hear that its client left.
    const left = admission.queues ? clientLeaving(res) : undefined;
    const admitted = admission.admit({
      method,
      target,
      headers,
      client: { address: req.socket.remoteAddress, secure: (req.socket as { encrypted?: boolean }).encrypted === true },
      hasBody,
      signal: left,
      // Real HTTP/2 (TLS with ALPN h2: an Http2ServerRequest, with its stream) has no request line and no Host lines;
      // its :authority became Host (balancer-server.ts). An HTTP/1 request line that claims HTTP/2.0 is still refused.
      hostLines: isHttp2(req) ? undefined : hostLines(req.rawHeaders),
      httpVersion: isHttp2(req) ? undefined : req.httpVersion,
    });
    // No closure here: one over this function's variables would make V8 allocate their context on every request.
    if (admitted instanceof Promise) whenAdmitted(admitted, new NativeForwarding(req, res, hasBody, method, target, headers, upstream), expectsContinue);
    else new NativeForwarding(req, res, hasBody, method, target, headers, upstream).admitted(admitted, expectsContinue);
  };

  const guarded = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void => {
    try {
      handle(req, res, expectsContinue);
    } catch (error) {
      if (res.headersSent) res.destroy();
      else sendAnswer(res, internalError(error));
    }
  };
  return Object.assign((req: IncomingMessage, res: ServerResponse) => guarded(req, res, false), {
    checkContinue: (req: IncomingMessage, res: ServerResponse) => guarded(req, res, true),
  });
}

/** The client's leaving, as a signal for the admission queue. */
function clientLeaving(res: ServerResponse): AbortSignal {
  const left = new AbortController();
  res.once('close', () => left.abort());
  return left.signal;
}

function whenAdmitted(admitted: Promise<Admitted>, forwarding: NativeForwarding, expectsContinue: boolean): void {
  admitted.then((settled) => forwarding.admitted(settled, expectsContinue), (error: unknown) => sendAnswer(forwarding.res, internalError(error)));
}

/**
 * One admitted request on the native path: the body buffered for replay when the plan says so, then one undici request
 * per attempt. One object with methods, not a closure per callback: it is the relay's owner (response-relay.ts).
 */
class NativeForwarding implements RelayOwner {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly #hasBody: boolean;
  readonly #method: string;
  readonly #target: string;
  readonly #headers: NodeHeaders;
  readonly #upstream: UndiciUpstream;
  #exchange: Exchange | undefined;
  #relay: ResponseRelay | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, hasBody: boolean, method: string, target: string, headers: NodeHeaders, upstream: UndiciUpstream) {
    this.req = req;
    this.res = res;
    this.#hasBody = hasBody;
    this.#method = method;
    this.#target = target;
    this.#headers = headers;
    this.#upstream = upstream;
  }

  admitted(admitted: Admitted, expectsContinue: boolean): void {
    // The body is never read, so the connection cannot carry another request.
    if (!admitted.ok) return sendAnswer(this.res, admitted.answer, this.#hasBody);
    if (expectsContinue) this.res.writeContinue();
    this.#forward(admitted.exchange);
  }

  #forward(exchange: Exchange): void {
    this.#exchange = exchange;
    // 'close' comes once, after 'finish' or instead of it: `on`, not `once`, spares a wrapper per request.
    this.res.on('close', () => this.#closed());
    if (this.#hasBody) this.#watchUpload(exchange);
    const plan = exchange.bodyPlan;
    if (plan.kind === 'buffer') this.#bufferBody(exchange, plan.length);
    else this.#attempt(exchange);
  }

  /** Apart from `#forward`, so a request without a body allocates none of these closures (nor their context). */
  #watchUpload(exchange: Exchange): void {
    const req = this.req;
    // A failed upload read is the client leaving, as on the Web path, never the server failing; but undici also
    // destroys the body with the server's error (a refused connection), which must stay the server's.
    // node:http's own 'aborted' (the client's connection closed mid-upload) is the client's, whatever its code says.
    const onUploadError = (error: unknown) => void ((isServerFailure(error) && (error as Error).message !== 'aborted') || exchange.clientGone());
    req.once('error', onUploadError);
    exchange.atExit(() => req.off('error', onUploadError));
    if (exchange.bodyPlan.kind === 'stream') {
      req.once('end', () => exchange.requestBodySent());
      // A streamed body is sent once, never replayed: each chunk can be freed once undici's socket wrote it
      // (chunk-release.ts). Prepended, so it runs before undici's writer; `prependListener` does not start the flow.
      if (releasesChunks) req.prependListener('data', releasableUpload);
    }
  }

  #bufferBody(exchange: Exchange, length: number): void {
    const res = this.res;
    readIterableUpTo(this.req as AsyncIterable<Uint8Array>, length).then((body) => {
      exchange.bodyBuffered(body);
      this.#attempt(exchange);
    }, (error: unknown) => {
      // Anything but a length mismatch is the upload failing: the client leaving, never the server.
      if (!(error instanceof BodyLengthError)) exchange.clientGone();
      const action = exchange.failed(error);
      if (action.do === 'answer' && !res.headersSent && !res.destroyed) sendAnswer(res, action.answer, true);
    });
  }

  #closed(): void {
    const res = this.res;
    const exchange = this.#exchange!;
    // undici destroys `res` with the error when the server breaks off mid-body: that is `failed()`, not the client.
    if (!res.writableFinished && !res.errored) exchange.clientGone();
    this.#relay?.clientClosed();
  }

  /** One dispatch per attempt: a retry (the Exchange decides) sends the buffered body again to another server. */
  #attempt(exchange: Exchange): void {
    const req = this.req;
    // undici streams any async iterable, though its types name only Readable.
    const body = (exchange.replayBody ?? (!this.#hasBody ? null : exchange.metersRequestBody ? meteredBody(req, exchange) : req)) as Readable | null;
    const upstream = this.#upstream;
    const relay = new ResponseRelay(exchange, this.res, body, upstream.decodesCompressedBodies, this);
    this.#relay = relay;
    upstream.dispatcher.dispatch({
      origin: exchange.server.url,
      path: this.#target,
      method: this.#method as Dispatcher.HttpMethod,
      headers: this.#headers.object as Record<string, string | string[]>,
      body,
      // UPSTREAM_READ_TIMEOUT_MS is the Exchange's timer, driven by the relay (the agent's own bodyTimeout is 0).
    }, relay);
  }

  attemptSettled(error: unknown, retried: boolean): void {
    this.#relay = undefined;
    const exchange = this.#exchange!;
    if (retried) return this.#attempt(exchange);
    if (error === undefined) return exchange.end();
    const res = this.res;
    // The client's connection is already gone: whatever the upstream error says, nobody is left to answer.
    if (res.destroyed && !res.errored) exchange.clientGone();
    const action = exchange.failed(error);
    if (action.do === 'retry') return this.#attempt(exchange);
    if (action.do === 'reset') res.destroy();
    else if (action.do === 'answer' && !res.headersSent && !res.destroyed) {
      sendAnswer(res, action.answer, action.answer.status === 413 || action.answer.status === 400 || action.answer.status === 408);
    }
  }

  answerUnrepresentable(error: unknown): void {
    const action = this.#exchange!.unrepresentable(error);
    if (action.do === 'answer') sendAnswer(this.res, action.answer);
  }
}

/**
 * The request body as undici reads it, metered for MAX_REQUEST_BODY_BYTES. An async generator, not a 'data'
 * listener: a listener would start the stream flowing before undici reads it. Without a limit undici reads
 * `req` itself, and the 'error' listener above reports a failed read.
 */
async function* meteredBody(req: IncomingMessage, exchange: Exchange): AsyncGenerator<Buffer> {
  exchange.requestBodyStarted();
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (!exchange.countRequestBytes(chunk.length)) return;
      yield chunk;
    }
    exchange.requestSent();
  } catch (error) {
    // A failed upload read is the client leaving, as on the Web path, never the server failing.
    exchange.clientGone();
    throw error;
  }
}

function sendAnswer(res: ServerResponse, answer: ErrorAnswer, closeConnection = false): void {
  const body = errorBody(answer);
  const headers: Record<string, string | number> = { ...errorHeaders(answer), 'content-length': Buffer.byteLength(body) };
  // HTTP/2 has no Connection header (RFC 9113 §8.2.2); there the stream ends, not the connection.
  if (closeConnection && res.req.httpVersionMajor < 2) headers.connection = 'close';
  res.writeHead(answer.status, headers);
  res.end(body);
}

/** True for a request that came over HTTP/2 (node:http2's compatibility API), not an HTTP/1 line naming HTTP/2.0. */
function isHttp2(req: IncomingMessage): boolean {
  return (req as { stream?: unknown }).stream !== undefined;
}
