/**
 * Node's native I/O path: node:http in, undici `stream` out, with no Web Request, Response or stream
 * conversions on the way. It drives the same ForwardingPolicy and header rules as the Web path; only
 * the moving of bytes differs.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Agent, Dispatcher } from 'undici';
import type { Balancer } from '../../core/balancer.ts';
import { prepareClientResponseHeaders, prepareUpstreamRequestHeaders, requestIdFor } from '../../core/proxy/forwarded-headers.ts';
import { failureKind, STOP_REASON } from '../../core/proxy/forwarding-policy.ts';
import { describeError } from '../../core/proxy/describe-error.ts';
import { errorBody } from '../../core/proxy/json-error.ts';
import { isAdminTarget, targetFromRequestLine } from '../../core/proxy/request-target.ts';
import { NodeHeaders, type HeaderObject } from './node-headers.ts';

const { timeout: TIMED_OUT, clientGone: CLIENT_GONE, bodyTooLarge: BODY_TOO_LARGE } = STOP_REASON;

export function createNativeHandler(balancer: Balancer, agent: Agent, admin: RequestListener): RequestListener {
  const policy = balancer.policy;
  const rules = balancer.headerRules;

  return (req: IncomingMessage, res: ServerResponse) => {
    const target = targetFromRequestLine(req.url ?? '/');
    if (target === undefined) {
      sendJson(res, 400, `request target ${JSON.stringify(req.url)} names no path; send an origin-form (/path) or absolute-form target`);
      return;
    }
    if (isAdminTarget(target)) {
      req.url = target;
      void admin(req, res);
      return;
    }

    const headers = new NodeHeaders(req.headers as HeaderObject);
    // Before the header rules strip Transfer-Encoding, which is how a chunked body announces itself.
    const hasBody = headers.has('transfer-encoding') || (headers.has('content-length') && headers.get('content-length') !== '0');
    const requestId = requestIdFor(headers);
    const method = req.method ?? 'GET';
    const refused = policy.refuseMethod(method, requestId) ?? policy.rejectDeclaredBody(headers.get('content-length'), requestId);
    if (refused !== undefined) {
      // The body is never read, so the connection cannot carry another request.
      sendJson(res, refused.status, refused.error, requestId, hasBody);
      return;
    }
    prepareUpstreamRequestHeaders(headers, { client: { address: req.socket.remoteAddress }, requestId }, rules);

    const attempt = policy.begin({ requestId, method, target });
    if (attempt === undefined) {
      const outcome = policy.noServer(requestId);
      sendJson(res, outcome.status, outcome.error, requestId);
      return;
    }

    const controller = new AbortController();
    let responded = false;
    // Releasing is idempotent (the lease counts once), so every exit path may call it.
    const finish = () => policy.finished(attempt);
    const timer = setTimeout(() => controller.abort(TIMED_OUT), policy.upstreamTimeoutMs);
    res.once('close', () => {
      if (res.writableFinished) return;
      controller.abort(CLIENT_GONE);
      if (responded) finish();
    });
    const limit = policy.maxRequestBodyBytes;
    const body = !hasBody ? null : limit === undefined ? req : limitedBody(req, limit, controller);

    const options: Dispatcher.RequestOptions = {
      origin: attempt.server.url,
      path: target,
      method: method as Dispatcher.HttpMethod,
      headers: headers.object as Record<string, string | string[]>,
      // undici streams any async iterable, though its types name only Readable.
      body: body as Readable | null,
      signal: controller.signal,
    };
    agent
      .stream(options, ({ statusCode, headers: upstreamHeaders }) => {
        clearTimeout(timer);
        responded = true;
        const responseHeaders = new NodeHeaders(upstreamHeaders as HeaderObject);
        prepareClientResponseHeaders(responseHeaders, requestId, false);
        res.writeHead(statusCode, responseHeaders.object as Record<string, string | string[]>);
        // A body without a declared length may be a stream whose first bytes come much later (SSE): the
        // client gets the head now. With a length, the head goes out with the first bytes, in one write.
        if (responseHeaders.object['content-length'] === undefined) res.flushHeaders();
        policy.responded(attempt, statusCode);
        return res;
      })
      .then(finish, (error: unknown) => {
        clearTimeout(timer);
        if (responded) {
          // Mid-body failure: close the client's connection abruptly, never end a truncated body as if complete.
          finish();
          res.destroy();
          return;
        }
        const outcome = policy.failed(attempt, failureKind(controller.signal, error), describeError(error));
        if (!res.headersSent && !res.destroyed) sendJson(res, outcome.status, outcome.error, requestId, outcome.status === 413);
      });
  };
}

/**
 * The request body as undici reads it, stopping the forward once MAX_REQUEST_BODY_BYTES is passed. An async
 * generator, not a 'data' listener: a listener would start the stream flowing before undici reads it.
 */
async function* limitedBody(req: IncomingMessage, limit: number, controller: AbortController): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > limit) {
      controller.abort(BODY_TOO_LARGE);
      return;
    }
    yield chunk;
  }
}

function sendJson(res: ServerResponse, status: number, error: string, requestId?: string, closeConnection = false): void {
  const body = errorBody(error, requestId);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  if (closeConnection) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}
