/**
 * The server Node's balancer listens with: node:http for plain HTTP, or, with TLS_CERT_FILE, an HTTP/2 secure
 * server that offers h2 and HTTP/1.1 by ALPN (`allowHTTP1`). Both emit `upgrade` for HTTP/1.1 upgrade requests,
 * and both take the native handler, which the HTTP/2 compatibility API hands HTTP/2's header block: it is
 * turned into HTTP/1.1's here first.
 */
import { createServer, type RequestListener, type Server as HttpServer } from 'node:http';
import type { ClientConnectionLimits } from '../../core/runtime/contracts.ts';
import { nodeServerLimits } from './server-limits.ts';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type ServerHttp2Session } from 'node:http2';
import type { ServerTls } from '../shared/tls-files.ts';
import { http1HeadersOf } from './http2-headers.ts';
import type { HeaderObject } from './node-headers.ts';

export type BalancerServer = HttpServer | Http2SecureServer;

/**
 * Over HTTP/2, pseudo-headers go (undici refuses them; `:authority` becomes Host), and a body, which DATA
 * frames delimit rather than Content-Length or chunked coding (RFC 9113 §8.1), is announced as chunked for
 * the HTTP/1.1 rules, which then drop that hop-by-hop header again.
 */
function fromHttp2(handler: RequestListener): RequestListener {
  return (req, res) => {
    if (req.httpVersionMajor === 2) {
      const headers = http1HeadersOf(req.headers as HeaderObject);
      const stream = (req as unknown as Http2ServerRequest).stream;
      if (!stream.endAfterHeaders && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
      // Http2ServerRequest's `headers` is a getter; an own property shadows it.
      Object.defineProperty(req, 'headers', { value: headers, writable: true, configurable: true });
    }
    handler(req, res);
  };
}

/** node:http's default largest request head (16 KiB), also the largest HTTP/2 header list taken, so both protocols refuse the same heads. */
const MAX_HEADER_BYTES = 16 * 1024;

/** Each HTTP/2 listener's open sessions, for the shutdown (closeHttp2Sessions). */
const sessionsOf = new WeakMap<BalancerServer, Set<ServerHttp2Session>>();

/**
 * Plain HTTP applies CLIENT_HEADER_TIMEOUT_MS and CLIENT_KEEPALIVE_TIMEOUT_MS (server-limits.ts). The TLS listener
 * applies them too: to HTTP/1.1 connections through the same node:http settings (its HTTP/1.1 side is node:http's,
 * which reads them as server properties; Node 20 takes no options for it), to the TLS handshake (the header
 * timeout), and to HTTP/2 sessions, which node:http2 gives no header or keep-alive timeout: a session with no
 * stream open for CLIENT_KEEPALIVE_TIMEOUT_MS gets GOAWAY here. An HTTP/2 header block arrives whole, in frames
 * nghttp2 bounds itself.
 */
export function createBalancerServer(handler: RequestListener, tls: ServerTls | undefined, limits?: ClientConnectionLimits): BalancerServer {
  if (tls === undefined) return createServer(nodeServerLimits(limits), handler);
  const headerTimeoutMs = limits?.headerTimeoutMs ?? 0;
  const server = createSecureServer(
    {
      allowHTTP1: true,
      cert: tls.cert,
      key: tls.key,
      // 0 would end every handshake at once; no limit keeps Node's own (120 s).
      ...(headerTimeoutMs > 0 ? { handshakeTimeout: headerTimeoutMs } : {}),
      settings: { maxHeaderListSize: MAX_HEADER_BYTES },
    },
    fromHttp2(handler) as unknown as Parameters<typeof createSecureServer>[1],
  );
  Object.assign(server, nodeServerLimits(limits));
  trackSessions(server, limits?.keepAliveTimeoutMs ?? 0);
  return server;
}

/** Keeps the listener's HTTP/2 sessions, and gives each one with no stream open `idleMs` (0: no limit) before a GOAWAY. */
function trackSessions(server: Http2SecureServer, idleMs: number): void {
  const sessions = new Set<ServerHttp2Session>();
  sessionsOf.set(server, sessions);
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    if (idleMs <= 0) return;
    let open = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      timer = setTimeout(() => session.close(), idleMs);
      timer.unref();
    };
    session.on('stream', (stream) => {
      open++;
      clearTimeout(timer);
      stream.once('close', () => {
        if (--open === 0 && !session.closed) arm();
      });
    });
    session.once('close', () => clearTimeout(timer));
    arm();
  });
}

/**
 * Shutdown (issue 9's drain rule: GOAWAY on HTTP/2): every session gets GOAWAY; an idle one closes at once, a busy
 * one once its streams have ended. Node 26's server.close() does this itself; Node 20's leaves sessions open.
 * Nothing for a plain HTTP server.
 */
export function closeHttp2Sessions(server: BalancerServer): void {
  for (const session of sessionsOf.get(server) ?? []) session.close();
}

/** SIGHUP: new connections get the new certificate; open ones keep theirs and are not dropped. */
export function swapCertificate(server: BalancerServer, tls: ServerTls): void {
  (server as Http2SecureServer).setSecureContext({ cert: tls.cert, key: tls.key });
}
