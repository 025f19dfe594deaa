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
import { type AttemptSettled, ResponseRelay } from './response-relay.ts';
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
    const left = admission.queues ? new AbortController() : undefined;
    if (left !== undefined) res.once('close', () => left.abort());
    const admitted = admission.admit({
      method,
      target,
      headers,
      client: { address: req.socket.remoteAddress, secure: (req.socket as { encrypted?: boolean }).encrypted === true },
      hasBody,
      signal: left?.signal,
      // Real HTTP/2 (TLS with ALPN h2: an Http2ServerRequest, with its stream) has no request line and no Host lines;
      // its :authority became Host (balancer-server.ts). An HTTP/1 request line that claims HTTP/2.0 is still refused.
      hostLines: isHttp2(req) ? undefined : hostLines(req.rawHeaders),
      httpVersion: isHttp2(req) ? undefined : req.httpVersion,
    });
    const proceed = (admitted: Admitted) => {
      // The body is never read, so the connection cannot carry another request.
      if (!admitted.ok) return sendAnswer(res, admitted.answer, hasBody);
      if (expectsContinue) res.writeContinue();
      forward(req, res, admitted.exchange, hasBody, method, target, headers);
    };
    if (admitted instanceof Promise) admitted.then(proceed, (error: unknown) => sendAnswer(res, internalError(error)));
    else proceed(admitted);
  };

  /** One exchange: the body buffered for replay when the plan says so, then one undici request per attempt. */
  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    exchange: Exchange,
    hasBody: boolean,
    method: string,
    target: string,
    headers: NodeHeaders,
  ) => {
    let relay: ResponseRelay | undefined;
    // 'close' comes once, after 'finish' or instead of it: `on`, not `once`, spares a wrapper per request.
    res.on('close', () => {
      // undici destroys `res` with the error when the server breaks off mid-body: that is `failed()`, not the client.
      if (!res.writableFinished && !res.errored) exchange.clientGone();
      relay?.clientClosed();
    });
    if (hasBody) {
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
    // One dispatch per attempt: a retry (the Exchange decides) sends the buffered body again to another server.
    const answerUnrepresentable = (error: unknown) => {
      const action = exchange.unrepresentable(error);
      if (action.do === 'answer') sendAnswer(res, action.answer);
    };
    const settled: AttemptSettled = (error, retried) => {
      relay = undefined;
      if (retried) return attempt();
      if (error === undefined) return exchange.end();
      // The client's connection is already gone: whatever the upstream error says, nobody is left to answer.
      if (res.destroyed && !res.errored) exchange.clientGone();
      const action = exchange.failed(error);
      if (action.do === 'retry') return attempt();
      if (action.do === 'reset') res.destroy();
      else if (action.do === 'answer' && !res.headersSent && !res.destroyed) {
        sendAnswer(res, action.answer, action.answer.status === 413 || action.answer.status === 400 || action.answer.status === 408);
      }
    };
    const attempt = (): void => {
      // undici streams any async iterable, though its types name only Readable.
      const body = (exchange.replayBody ?? (!hasBody ? null : exchange.metersRequestBody ? meteredBody(req, exchange) : req)) as Readable | null;
      relay = new ResponseRelay(exchange, res, body, upstream.decodesCompressedBodies, settled, answerUnrepresentable);
      upstream.dispatcher.dispatch({
        origin: exchange.server.url,
        path: target,
        method: method as Dispatcher.HttpMethod,
        headers: headers.object as Record<string, string | string[]>,
        body,
        // UPSTREAM_READ_TIMEOUT_MS is the Exchange's timer, driven by the relay (the agent's own bodyTimeout is 0).
      }, relay);
    };
    const plan = exchange.bodyPlan;
    if (plan.kind !== 'buffer') return attempt();
    readIterableUpTo(req as AsyncIterable<Uint8Array>, plan.length).then((body) => {
      exchange.bodyBuffered(body);
      attempt();
    }, (error: unknown) => {
      // Anything but a length mismatch is the upload failing: the client leaving, never the server.
      if (!(error instanceof BodyLengthError)) exchange.clientGone();
      const action = exchange.failed(error);
      if (action.do === 'answer' && !res.headersSent && !res.destroyed) sendAnswer(res, action.answer, true);
    });
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
