/**
 * The Web I/O path: moves a Web `Request` through a fetch-shaped upstream client and the answer back as a
 * `Response`. Every decision is the Exchange's; this file only moves bytes and reports events.
 */
import type { Admission } from './admission.ts';
import type { Exchange, FailureAction } from './exchange.ts';
import { errorResponse } from './json-error.ts';
import { readWhole } from './response-buffering.ts';
import { BodyLengthError, readBodyUpTo } from './replayable-body.ts';
import { unrelayableStatus } from './response-status.ts';
import type { ClientInfo } from '../runtime/contracts.ts';
import type { UpstreamClient } from '../upstream/upstream-client.ts';
import { copyHeaders, WebHeaderMap } from './web-headers.ts';

export class WebForwarder {
  readonly #admission: Admission;
  readonly #client: UpstreamClient;

  constructor(admission: Admission, client: UpstreamClient) {
    this.#admission = admission;
    this.#client = client;
  }

  /** `target` is the request's path and query (see request-target.ts). */
  async forward(request: Request, client: ClientInfo, target: string): Promise<Response> {
    const upstreamHeaders = copyHeaders(request.headers);
    // fetch cannot send a GET or HEAD body, and Deno's and Bun's servers drop one silently (request.body is null):
    // the declared length still says it was there.
    const declared = request.headers.get('content-length');
    const hasBody = request.body !== null || (declared !== null && declared !== '0');
    const unsendableBody = (request.method === 'GET' || request.method === 'HEAD') && hasBody;
    const admitted = await this.#admission.admit({
      method: request.method,
      target,
      headers: new WebHeaderMap(upstreamHeaders),
      client,
      hasBody: request.body !== null,
      signal: request.signal,
      unsendableBody,
    });
    if (!admitted.ok) return errorResponse(admitted.answer);
    const exchange = admitted.exchange;

    const clientSignal = request.signal;
    const onClientGone = () => exchange.clientGone();
    clientSignal.addEventListener('abort', onClientGone);
    exchange.atExit(() => clientSignal.removeEventListener('abort', onClientGone));
    if (clientSignal.aborted) exchange.clientGone();

    const plan = exchange.bodyPlan;
    if (plan.kind === 'buffer' && request.body !== null) {
      try {
        exchange.bodyBuffered(await readBodyUpTo(request.body, plan.length));
      } catch (error) {
        // Anything but a length mismatch is the upload failing: the client leaving, never the server.
        if (!(error instanceof BodyLengthError)) exchange.clientGone();
        return answer(exchange.failed(error));
      }
    }
    // One pass per attempt: a retry (the Exchange decides) sends the buffered body again to another server.
    for (;;) {
      let upstream: Response;
      try {
        if (exchange.signal.aborted) throw exchange.signal.reason;
        upstream = await this.#client.fetch(exchange.upstreamUrl, {
          method: request.method,
          headers: upstreamHeaders,
          body: exchange.replayBody ?? (request.body === null ? null : meteredBody(request.body, exchange)),
          signal: exchange.signal,
          redirect: 'manual',
          duplex: 'half',
        });
      } catch (error) {
        const action = exchange.failed(error);
        if (action.do === 'retry') continue;
        return answer(action);
      }
      const response = await this.#respond(upstream, exchange, client);
      if (response !== undefined) return response;
      upstream.body?.cancel().catch(() => {});
    }
  }

  /** Turns the server's answer into the client's, or undefined when the Exchange retries it (RETRY_ON_STATUS). */
  #respond(upstream: Response, exchange: Exchange, client: ClientInfo): Response | Promise<Response | undefined> | undefined {
    const unrelayable = unrelayableStatus(upstream.status);
    if (unrelayable !== undefined) {
      upstream.body?.cancel().catch(() => {});
      return answer(exchange.unrepresentable(new Error(unrelayable)));
    }
    const headers = copyHeaders(upstream.headers);
    const plan = exchange.responseHead(upstream.status, new WebHeaderMap(headers), this.#client.decodesCompressedBodies);
    if (plan.retry) return undefined;
    const init = { status: upstream.status, statusText: upstream.statusText, headers };
    const body = upstream.body;
    if (plan.bufferLength !== undefined && body !== null) return bufferedResponse(upstream, plan.bufferLength, init, exchange);
    let response: Response;
    try {
      if (!plan.withBody || body === null) {
        body?.cancel().catch(() => {});
        // A null body makes Deno (and Bun) add `content-length: 0` to a HEAD reply that had no length, which
        // misstates the GET's length (RFC 9110 §9.3.2); an empty stream keeps Deno from adding it.
        const unsized = exchange.method === 'HEAD' && !headers.has('content-length');
        response = new Response(unsized ? new ReadableStream({ start: (c) => c.close() }) : null, init);
      } else if (client.completed !== undefined && !exchange.limitsResponseGaps) {
        // The runtime says when the response is done: hand it the upstream body untouched.
        response = new Response(body, init);
        void client.completed.then(() => exchange.end(), () => exchange.clientGone());
      } else {
        response = new Response(endWhenDone(body, exchange, this.#client.chunkReleaser?.(upstream)), init);
      }
    } catch (error) {
      // A response the runtime refuses to represent (say, a status outside 200-599).
      body?.cancel().catch(() => {});
      return answer(exchange.unrepresentable(error));
    }
    exchange.headSent(plan.withBody && body !== null);
    return response;
  }
}

/**
 * A short body read whole (ResponsePlan.bufferLength): the exchange ends once the server has sent it, and the
 * runtime sends the bytes natively, with no JavaScript stream between (on Bun that stream halved throughput).
 */
async function bufferedResponse(upstream: Response, length: number, init: ResponseInit, exchange: Exchange): Promise<Response | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readWhole(upstream, length);
  } catch (error) {
    // Nothing was sent yet, so the Exchange may still retry it on another server (undefined: the caller's loop goes on).
    const action = exchange.failed(error);
    return action.do === 'retry' ? undefined : answer(action);
  }
  let response: Response;
  try {
    response = new Response(bytes as Uint8Array<ArrayBuffer>, init);
  } catch (error) {
    return answer(exchange.unrepresentable(error));
  }
  exchange.responseRead();
  return response;
}

/** The Web path answers whatever the Exchange says; with nobody left to answer, the 499 goes nowhere. */
function answer(action: FailureAction): Response {
  if (action.do === 'answer') return errorResponse(action.answer);
  // Only reachable if the exchange had already ended: an empty error response, never a body presented as complete.
  return Response.error();
}

/**
 * Streams the client's body upstream (highWaterMark 0: read only as fast as the server takes it), metering
 * it for MAX_REQUEST_BODY_BYTES, and reporting a failed read as the client going away, so an upload the
 * client abandons is never blamed on the server.
 */
function meteredBody(body: ReadableStream<Uint8Array>, exchange: Exchange): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      start() {
        exchange.requestBodyStarted();
      },
      async pull(controller) {
        let chunk: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          exchange.clientGone();
          controller.error(error);
          return;
        }
        if (chunk.done) {
          exchange.requestBodySent();
          return controller.close();
        }
        if (!exchange.countRequestBytes(chunk.value.byteLength)) {
          controller.error(exchange.signal.reason);
          void reader.cancel(exchange.signal.reason).catch(() => {});
          return;
        }
        controller.enqueue(chunk.value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Passes the body through chunk by chunk (highWaterMark 0: nothing is read ahead of the client) and reports
 * its end: `end()` when it completes, `failed()` when the server breaks it off, `clientGone()` when the
 * client cancels it by going away. With `release` (UpstreamClient.chunkReleaser), the chunk passed on last is
 * freed when the runtime's server asks for the next: a large body then no longer waits for a GC chunk by chunk.
 */
function endWhenDone(body: ReadableStream<Uint8Array>, exchange: Exchange, release?: (chunk: Uint8Array) => void): ReadableStream<Uint8Array> {
  // Locked lazily: until the first read, the caller can still cancel `body` if building the Response fails.
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let taken: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (taken !== undefined) {
          release!(taken);
          taken = undefined;
        }
        let chunk: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
        try {
          reader ??= body.getReader();
          exchange.awaitingResponseBytes();
          chunk = await reader.read();
          exchange.responseChunk();
        } catch (error) {
          exchange.failed(error);
          controller.error(error);
          return;
        }
        if (chunk.done) {
          exchange.end();
          controller.close();
        } else {
          exchange.countResponseBytes(chunk.value.byteLength);
          controller.enqueue(chunk.value);
          if (release !== undefined) taken = chunk.value;
        }
      },
      cancel(reason) {
        exchange.clientGone();
        return (reader ?? body).cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
