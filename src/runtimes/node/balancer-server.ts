/**
 * The server Node's balancer listens with: node:http for plain HTTP, or, with TLS_CERT_FILE, an HTTP/2 secure
 * server that offers h2 and HTTP/1.1 by ALPN (`allowHTTP1`). Both emit `upgrade` for HTTP/1.1 upgrade requests,
 * and both take the native handler, which the HTTP/2 compatibility API hands HTTP/2's header block: it is
 * turned into HTTP/1.1's here first.
 */
import { createServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest } from 'node:http2';
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

/** Node's default 300 s limit on receiving a whole request would cut long uploads, hence `requestTimeout: 0`. */
export function createBalancerServer(handler: RequestListener, tls: ServerTls | undefined): BalancerServer {
  if (tls === undefined) return createServer({ requestTimeout: 0 }, handler);
  return createSecureServer({ allowHTTP1: true, cert: tls.cert, key: tls.key }, fromHttp2(handler) as unknown as Parameters<typeof createSecureServer>[1]);
}

/** SIGHUP: new connections get the new certificate; open ones keep theirs and are not dropped. */
export function swapCertificate(server: BalancerServer, tls: ServerTls): void {
  (server as Http2SecureServer).setSecureContext({ cert: tls.cert, key: tls.key });
}
