/** Node's upstream client: one undici Agent, used by the native forwarder for traffic and by the health checker for probes. */
import { Agent, type Dispatcher } from 'undici';
import type { UpstreamClient, UpstreamRequestInit } from '../../core/upstream/upstream-client.ts';

/** The core's UpstreamClient plus the dispatcher the native forwarder streams through. */
export interface UndiciUpstream extends UpstreamClient {
  readonly dispatcher: Dispatcher;
}

/** One connection pool per server origin, shared by health checks and forwarding. */
export function createUpstreamAgent(connectTimeoutMs?: number): Agent {
  // The core enforces UPSTREAM_TIMEOUT_MS itself; undici's own timers would cut long or quiet streams (SSE).
  // UPSTREAM_CONNECT_TIMEOUT_MS bounds each connection attempt, so a dropped SYN fails fast (0: undici's longest).
  const connect = connectTimeoutMs === undefined ? {} : { connect: { timeout: connectTimeoutMs > 0 ? connectTimeoutMs : 2 ** 31 - 1 } };
  return new Agent({ headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 4_000, ...connect });
}

/**
 * On Node, proxied traffic takes the native path (undici `stream` straight into node:http), so `fetch` here
 * serves only the health probe, which needs the status alone: the body is dumped, never turned into a Web
 * stream (which also retires the hand-written stream that worked around nodejs/node#64529 on Node 20).
 */
export function createUndiciUpstream(given?: Dispatcher): UndiciUpstream {
  // Made on first use, after `configure` has passed on UPSTREAM_CONNECT_TIMEOUT_MS from the validated config.
  let connectTimeoutMs: number | undefined;
  let made: Dispatcher | undefined = given;
  const agent = () => (made ??= createUpstreamAgent(connectTimeoutMs));
  return {
    get dispatcher() {
      return agent();
    },
    configure(options) {
      connectTimeoutMs = options.connectTimeoutMs;
    },
    // undici passes the server's bytes through untouched, so Content-Encoding still matches them.
    decodesCompressedBodies: false,
    async fetch(url: string, init: UpstreamRequestInit): Promise<Response> {
      if (init.body !== null) throw new TypeError('the Node upstream client sends bodiless probes only; proxied traffic takes the native path');
      const pathAt = url.indexOf('/', url.indexOf('//') + 2);
      const { statusCode, headers, body } = await agent().request({
        origin: url.slice(0, pathAt),
        path: url.slice(pathAt),
        method: init.method as Dispatcher.HttpMethod,
        headers: Object.fromEntries(init.headers),
        signal: init.signal,
      });
      await body.dump();
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(headers)) {
        if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
        else if (value !== undefined) responseHeaders.append(name, value);
      }
      return new Response(null, { status: statusCode, headers: responseHeaders });
    },
    close: () => agent().close(),
  };
}
