/**
 * Deno's upstream path for request bodies with a declared Content-Length. Deno's fetch sends every stream
 * body chunked, so servers that read Content-Length (Python's http.server, CGI, PHP, WSGI, presigned uploads)
 * got an empty body; Deno's node:http client keeps a declared length while it streams (issue 8). Hand-written
 * because no library bridges node:http to the fetch shape the core uses; it streams both ways, buffering nothing.
 */
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { Readable } from 'node:stream';
import type { UpstreamRequestInit } from '../../core/upstream/upstream-client.ts';

/** Statuses (and HEAD) whose responses have no body: a Web Response must be built with `null` for them. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** True when this request must take the node:http path: it has a body and a declared length. */
export function hasDeclaredLengthBody(init: UpstreamRequestInit): boolean {
  return init.body !== null && init.headers.has('content-length');
}

/**
 * `privateCas`: UPSTREAM_CA_FILE's certificates, trusted beside the bundled roots for https:// servers.
 * `releaseChunk`: frees a streamed body chunk once node:http has written it (chunk-release.ts); only for a body whose
 * chunks each have a buffer of their own and are not read again, as a Deno.serve request body's are.
 */
export function fetchWithDeclaredLength(
  url: string,
  init: UpstreamRequestInit,
  privateCas?: readonly string[],
  releaseChunk?: (chunk: Uint8Array) => void,
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    init.headers.forEach((value, name) => (headers[name] = value));
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const ca = privateCas !== undefined && target.protocol === 'https:' ? { ca: [...rootCertificates, ...privateCas] } : {};
    // agent: false, a new connection per request: when a reused kept-alive connection is reset after the server read
    // the whole request, Deno's node:http (2.9.6, measured) resends it on a new connection by itself, POST and PATCH
    // included, unseen by the Exchange (a body reached the server twice; test/faults "sent once"). Costs a handshake.
    const req = send(target, { method: init.method, headers, signal: init.signal, agent: false, ...ca }, (res: IncomingMessage) => {
      const responseHeaders = new Headers();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
      const status = res.statusCode ?? 502;
      const bodyless = NULL_BODY_STATUSES.has(status) || init.method === 'HEAD';
      if (bodyless) res.resume();
      try {
        const body = bodyless ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
        resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
      } catch (error) {
        // A status a Response cannot carry (say, 999): the core answers 502.
        res.destroy();
        reject(error);
      }
    });
    req.once('error', reject);
    // Deno's node:http ignores `signal` once the request went out on a reused kept-alive connection (Deno 2.9.6,
    // measured): a server that never answers then held the exchange for ever, past UPSTREAM_TIMEOUT_MS. So the abort
    // is applied here too, before and after the response head (a read timeout, the client leaving mid-body).
    const signal = init.signal;
    const abort = () => {
      req.destroy();
      reject(signal.reason);
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    req.once('close', () => signal.removeEventListener('abort', abort));
    // A body kept for replay (RETRY_BUFFER_BYTES) is written whole; a streamed one as it arrives.
    if (init.body instanceof Uint8Array) req.end(init.body);
    else void pump(init.body!, req, releaseChunk).catch((error: unknown) => req.destroy(error instanceof Error ? error : new Error(String(error))));
  });
}

/** Writes the body as it arrives, waiting for 'drain' when the socket is full (backpressure both ways). */
async function pump(body: ReadableStream<Uint8Array>, req: ReturnType<typeof httpRequest>, release?: (chunk: Uint8Array) => void): Promise<void> {
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!req.write(value, release === undefined ? undefined : () => release(value))) {
      await new Promise<void>((resolve) => req.once('drain', resolve).once('close', resolve));
    }
    if (req.destroyed) {
      void reader.cancel().catch(() => {});
      return;
    }
  }
  req.end();
}
