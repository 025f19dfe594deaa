/** Node's upstream client: undici's pooled `request`, shaped like fetch, passing compressed bytes through untouched. */
import type { Readable } from 'node:stream';
import { Agent } from 'undici';
import type { UpstreamClient, UpstreamRequestInit } from '../../core/upstream/upstream-client.ts';

/** One connection pool per server origin, shared by health checks and forwarding. */
export function createUpstreamAgent(): Agent {
  // The core enforces UPSTREAM_TIMEOUT_MS itself; undici's own timers would cut long or quiet streams (SSE).
  return new Agent({ headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 4_000 });
}

export function createUndiciUpstream(agent: Agent = createUpstreamAgent()): UpstreamClient {
  return {
    decodesCompressedBodies: false,
    async fetch(url: string, init: UpstreamRequestInit): Promise<Response> {
      const pathAt = url.indexOf('/', url.indexOf('//') + 2);
      const { statusCode, headers, body } = await agent.request({
        origin: url.slice(0, pathAt),
        path: url.slice(pathAt),
        method: init.method as 'GET',
        headers: init.headers as unknown as Iterable<[string, string]>,
        // undici streams any async iterable; Web ReadableStreams are async iterable on Node.
        body: init.body as unknown as Readable | null,
        signal: init.signal,
      });
      const responseHeaders = new Headers();
      for (const name in headers) {
        const value = headers[name];
        // Arrays keep repeated fields (Set-Cookie) as separate lines.
        if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
        else if (value !== undefined) responseHeaders.append(name, value);
      }
      // 204, 205, 304 and 1xx carry no body (RFC 9110 §6.4.1), and Response refuses one for them.
      if (statusCode === 204 || statusCode === 205 || statusCode === 304 || statusCode < 200) {
        body.resume();
        return new Response(null, { status: statusCode, headers: responseHeaders });
      }
      return new Response(toWebStream(body), { status: statusCode, headers: responseHeaders });
    },
    close: () => agent.close(),
  };
}

/**
 * A pull-driven Web stream over undici's body. Written by hand because `Readable.toWeb` on Node 20
 * crashes the process ("Controller is already closed") when the client disconnects (nodejs/node#64529).
 */
function toWebStream(body: Readable): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        body.on('data', (chunk: Buffer) => {
          if (settled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) body.pause();
        });
        body.once('end', () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        body.once('error', (error) => {
          if (settled) return;
          settled = true;
          controller.error(error);
        });
        body.pause();
      },
      pull() {
        body.resume();
      },
      cancel() {
        settled = true;
        body.destroy();
      },
    },
    { highWaterMark: 1 },
  );
}
