/** Forwards a Web `Request` through a fetch-shaped upstream client and streams the answer back as a `Response`. */
import { describeError } from './health-checker.ts';
import { stripHopByHop } from './hop-by-hop.ts';
import { jsonError } from './json-error.ts';
import { type ForwardAttempt, type ForwardingPolicy, isBodylessStatus } from './forwarding-policy.ts';
import { upstreamUrl } from './request-target.ts';
import type { UpstreamClient } from './upstream-client.ts';

const TIMED_OUT = Symbol('upstream timeout');
const CLIENT_GONE = Symbol('client gone');

export class WebForwarder {
  readonly #policy: ForwardingPolicy;
  readonly #client: UpstreamClient;

  constructor(policy: ForwardingPolicy, client: UpstreamClient) {
    this.#policy = policy;
    this.#client = client;
  }

  async forward(request: Request): Promise<Response> {
    // Prepared before selection, so nothing between taking a lease and the try blocks below can throw.
    const headers = new Headers(request.headers);
    stripHopByHop(headers);
    // The upstream Host is the server's own; the client sets it from the URL.
    headers.delete('host');

    const attempt = this.#policy.begin();
    if (attempt === undefined) return jsonError(503, 'no healthy upstream server is available');

    // One controller carries both reasons to stop: the client leaving, and the server missing its deadline.
    const controller = new AbortController();
    let responded = false;
    let done = false;
    const onClientGone = () => {
      controller.abort(CLIENT_GONE);
      // While the body streams, the client leaving ends the request even if the runtime never cancels the stream.
      if (responded) finish();
    };
    const clientSignal = request.signal;
    clientSignal.addEventListener('abort', onClientGone);
    const timer = setTimeout(() => controller.abort(TIMED_OUT), this.#policy.upstreamTimeoutMs);
    const finish = () => {
      if (done) return;
      done = true;
      clientSignal.removeEventListener('abort', onClientGone);
      this.#policy.finished(attempt);
    };

    let upstream: Response;
    try {
      if (clientSignal.aborted) throw CLIENT_GONE;
      upstream = await this.#client.fetch(upstreamUrl(attempt.server.url, request.url), {
        method: request.method,
        headers,
        body: request.body,
        signal: controller.signal,
        redirect: 'manual',
        duplex: 'half',
      });
    } catch (error) {
      clearTimeout(timer);
      clientSignal.removeEventListener('abort', onClientGone);
      done = true;
      return this.#failure(attempt, controller.signal, error);
    }
    clearTimeout(timer);
    responded = true;

    try {
      const response = this.#clientResponse(request, upstream, finish);
      this.#policy.responded(attempt, upstream.status);
      return response;
    } catch (error) {
      // A response the runtime refuses to represent (say, a status outside 200-599) must not leak the lease.
      finish();
      upstream.body?.cancel().catch(() => {});
      return jsonError(502, this.#policy.unforwardable(attempt, describeError(error)));
    }
  }

  #clientResponse(request: Request, upstream: Response, finish: () => void): Response {
    const responseHeaders = new Headers(upstream.headers);
    stripHopByHop(responseHeaders);
    if (this.#client.decodesCompressedBodies && responseHeaders.has('content-encoding')) {
      // The client already decoded the bytes: the old encoding and length would describe a body that is not sent.
      responseHeaders.delete('content-encoding');
      responseHeaders.delete('content-length');
    }

    const body = upstream.body;
    if (body === null || request.method === 'HEAD' || isBodylessStatus(upstream.status)) {
      body?.cancel().catch(() => {});
      finish();
      return new Response(null, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
    }
    return new Response(releaseWhenDone(body, finish), {
      status: upstream.status,
      statusText: upstream.statusText,
      headers: responseHeaders,
    });
  }

  #failure(attempt: ForwardAttempt, signal: AbortSignal, error: unknown): Response {
    const reason = signal.aborted ? signal.reason : error === CLIENT_GONE ? CLIENT_GONE : undefined;
    const outcome =
      reason === CLIENT_GONE
        ? this.#policy.failed(attempt, 'client_gone', 'client went away')
        : reason === TIMED_OUT
          ? this.#policy.failed(attempt, 'timeout', `no response headers within ${this.#policy.upstreamTimeoutMs} ms`)
          : this.#policy.failed(attempt, 'unreachable', describeError(error));
    return jsonError(outcome.status, outcome.error);
  }
}

/**
 * Passes the body through chunk by chunk (highWaterMark 0: nothing is read ahead of the client) and calls
 * `finish` once, when the body ends, fails, or the client cancels it by going away.
 */
function releaseWhenDone(body: ReadableStream<Uint8Array>, finish: () => void): ReadableStream<Uint8Array> {
  // Locked lazily: until the first read, the caller can still cancel `body` if building the Response fails.
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          reader ??= body.getReader();
          chunk = await reader.read();
        } catch (error) {
          finish();
          controller.error(error);
          return;
        }
        if (chunk.done) {
          finish();
          controller.close();
        } else {
          controller.enqueue(chunk.value);
        }
      },
      cancel(reason) {
        finish();
        return (reader ?? body).cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
