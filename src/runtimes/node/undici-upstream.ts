/** Node's upstream client: one undici Agent, used by the native forwarder for traffic and by the health checker for probes. */
import { Agent, buildConnector, type Dispatcher } from 'undici';
import type { UpstreamClient, UpstreamRequestInit } from '../../core/upstream/upstream-client.ts';
import type { UpstreamTls } from '../shared/upstream-tls.ts';
import { releasingWrittenUploads } from './chunk-release.ts';

/** The core's UpstreamClient plus the dispatcher the native forwarder dispatches through. */
export interface UndiciUpstream extends UpstreamClient {
  readonly dispatcher: Dispatcher;
}

/** One connection pool per server origin, shared by health checks and forwarding. */
export function createUpstreamAgent(options: { readonly tls?: UpstreamTls; readonly connectTimeoutMs?: number } = {}): Agent {
  const { tls, connectTimeoutMs } = options;
  // The core enforces UPSTREAM_TIMEOUT_MS itself; undici's own timers would cut long or quiet streams (SSE).
  // `connect` carries UPSTREAM_CA_FILE (with the bundled roots) and UPSTREAM_TLS_INSECURE to https:// servers, probes
  // included, and UPSTREAM_CONNECT_TIMEOUT_MS, so a dropped SYN fails fast (0: undici's longest).
  const connect = {
    ...(tls === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.ca ? { ca: tls.ca } : {}) }),
    ...(connectTimeoutMs === undefined ? {} : { timeout: connectTimeoutMs > 0 ? connectTimeoutMs : 2 ** 31 - 1 }),
  };
  // undici's own connector, as it builds one from these options; each socket then frees the upload chunks it wrote.
  const connector = buildConnector(connect);
  const connectReleasing: buildConnector.connector = (options, callback) =>
    connector(options, (error, socket) => error === null ? callback(null, releasingWrittenUploads(socket!)) : callback(error, null));
  return new Agent({ headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 4_000, connect: connectReleasing });
}

/** Builds the dispatcher once the validated config is known (UPSTREAM_CONNECT_TIMEOUT_MS arrives through `configure`). */
export type DispatcherFactory = (options: { readonly connectTimeoutMs?: number }) => Dispatcher;

/**
 * On Node, proxied traffic takes the native path (undici `dispatch` straight into node:http, response-relay.ts), so `fetch` here
 * serves only the health probe, which needs the status alone: the body is dumped, never turned into a Web
 * stream (which also retires the hand-written stream that worked around nodejs/node#64529 on Node 20).
 */
export function createUndiciUpstream(dispatcherOrFactory: Dispatcher | DispatcherFactory = (options) => createUpstreamAgent(options)): UndiciUpstream {
  // A factory builds the dispatcher on first use: the entrypoint reads UPSTREAM_CA_FILE, and `configure` passes on
  // UPSTREAM_CONNECT_TIMEOUT_MS, only once the config is known.
  let connectTimeoutMs: number | undefined;
  let built: Dispatcher | undefined = typeof dispatcherOrFactory === 'function' ? undefined : dispatcherOrFactory;
  const dispatcherOf = (): Dispatcher => (built ??= (dispatcherOrFactory as DispatcherFactory)({ connectTimeoutMs }));
  return {
    get dispatcher() {
      return dispatcherOf();
    },
    configure(options) {
      connectTimeoutMs = options.connectTimeoutMs;
    },
    // undici passes the server's bytes through untouched, so Content-Encoding still matches them.
    decodesCompressedBodies: false,
    async fetch(url: string, init: UpstreamRequestInit): Promise<Response> {
      if (init.body !== null) throw new TypeError('the Node upstream client sends bodiless probes only; proxied traffic takes the native path');
      const pathAt = url.indexOf('/', url.indexOf('//') + 2);
      const { statusCode, headers, body } = await dispatcherOf().request({
        origin: url.slice(0, pathAt),
        path: url.slice(pathAt),
        method: init.method as Dispatcher.HttpMethod,
        headers: Object.fromEntries(init.headers),
        signal: init.signal,
      });
      await body.dump();
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(headers)) {
        if (Array.isArray(value)) { for (const v of value) responseHeaders.append(name, v); }
        else if (value !== undefined) responseHeaders.append(name, value);
      }
      return new Response(null, { status: statusCode, headers: responseHeaders });
    },
    close: async () => {
      await built?.close();
    },
  };
}
