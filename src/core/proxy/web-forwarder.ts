/** Forwards a Web `Request` through a fetch-shaped upstream client and streams the answer back as a `Response`. */
import { prepareClientResponseHeaders, prepareUpstreamRequestHeaders, requestIdFor, type ClientInfo, type HeaderRuleOptions } from './forwarded-headers.ts';
import { failureKind, type ForwardingPolicy, isBodylessStatus, STOP_REASON } from './forwarding-policy.ts';
import { describeError } from './describe-error.ts';
import { jsonError } from './json-error.ts';
import { upstreamUrl } from './request-target.ts';
import type { UpstreamClient } from '../upstream/upstream-client.ts';

const { timeout: TIMED_OUT, clientGone: CLIENT_GONE, bodyTooLarge: BODY_TOO_LARGE } = STOP_REASON;

export class WebForwarder {
  readonly #policy: ForwardingPolicy;
  readonly #client: UpstreamClient;
  readonly #headerRules: HeaderRuleOptions;

  constructor(policy: ForwardingPolicy, client: UpstreamClient, headerRules: HeaderRuleOptions) {
    this.#policy = policy;
    this.#client = client;
    this.#headerRules = headerRules;
  }

  /** `target` is the request's path and query (see request-target.ts). */
  async forward(request: Request, client: ClientInfo, target: string): Promise<Response> {
    // Everything that could throw on odd input happens before a lease is taken.
    const headers = new Headers(request.headers);
    const requestId = requestIdFor(headers);
    const refused = this.#policy.refuseMethod(request.method, requestId) ?? this.#policy.rejectDeclaredBody(headers.get('content-length'), requestId);
    if (refused !== undefined) return jsonError(refused.status, refused.error, requestId);
    prepareUpstreamRequestHeaders(headers, { client, requestId }, this.#headerRules);

    const attempt = this.#policy.begin({ requestId, method: request.method, target });
    if (attempt === undefined) {
      const outcome = this.#policy.noServer(requestId);
      return jsonError(outcome.status, outcome.error, requestId);
    }

    // One controller carries every reason to stop: the client leaving, the deadline, an oversized body.
    const controller = new AbortController();
    let responded = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clientSignal.removeEventListener('abort', onClientGone);
      this.#policy.finished(attempt);
    };
    const onClientGone = () => {
      controller.abort(CLIENT_GONE);
      // While the body streams, the client leaving ends the request even if the runtime never cancels the stream.
      if (responded) finish();
    };
    const clientSignal = request.signal;
    clientSignal.addEventListener('abort', onClientGone);
    const timer = setTimeout(() => controller.abort(TIMED_OUT), this.#policy.upstreamTimeoutMs);

    let upstream: Response;
    try {
      if (clientSignal.aborted) throw CLIENT_GONE;
      const body = request.body === null ? null : guardBody(request.body, this.#policy.maxRequestBodyBytes, controller);
      upstream = await this.#client.fetch(upstreamUrl(attempt.server.url, target), {
        method: request.method,
        headers,
        body,
        signal: controller.signal,
        redirect: 'manual',
        duplex: 'half',
      });
    } catch (error) {
      clearTimeout(timer);
      clientSignal.removeEventListener('abort', onClientGone);
      done = true;
      const outcome = this.#policy.failed(attempt, failureKind(controller.signal, error), describeError(error));
      return jsonError(outcome.status, outcome.error, requestId);
    }
    clearTimeout(timer);
    responded = true;

    try {
      const response = this.#clientResponse(request, upstream, requestId, finish, client.completed);
      this.#policy.responded(attempt, upstream.status);
      return response;
    } catch (error) {
      // A response the runtime refuses to represent (say, a status outside 200-599) must not leak the lease.
      finish();
      upstream.body?.cancel().catch(() => {});
      return jsonError(502, this.#policy.unforwardable(attempt, describeError(error)), requestId);
    }
  }

  #clientResponse(request: Request, upstream: Response, requestId: string, finish: () => void, completed: Promise<unknown> | undefined): Response {
    const headers = new Headers(upstream.headers);
    prepareClientResponseHeaders(headers, requestId, this.#client.decodesCompressedBodies);
    const body = upstream.body;
    if (body === null || request.method === 'HEAD' || isBodylessStatus(upstream.status)) {
      body?.cancel().catch(() => {});
      finish();
      return new Response(null, { status: upstream.status, statusText: upstream.statusText, headers });
    }
    if (completed !== undefined) {
      void completed.then(finish, finish);
      return new Response(body, { status: upstream.status, statusText: upstream.statusText, headers });
    }
    return new Response(releaseWhenDone(body, finish), { status: upstream.status, statusText: upstream.statusText, headers });
  }
}

/**
 * Streams the client's body upstream (highWaterMark 0: read only as fast as the server takes it), stopping
 * the forward once MAX_REQUEST_BODY_BYTES is passed, and recording a failed read as the client going away,
 * so that an upload the client abandons is never blamed on the server.
 */
function guardBody(body: ReadableStream<Uint8Array>, limit: number | undefined, forward: AbortController): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          forward.abort(CLIENT_GONE);
          controller.error(error);
          return;
        }
        if (chunk.done) return controller.close();
        seen += chunk.value.byteLength;
        if (limit !== undefined && seen > limit) {
          forward.abort(BODY_TOO_LARGE);
          controller.error(BODY_TOO_LARGE);
          void reader.cancel(BODY_TOO_LARGE).catch(() => {});
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
