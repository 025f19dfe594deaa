/**
 * Node's Upgrade path: a byte tunnel. The client's upgrade request goes to the server on a connection of its
 * own; the server's 101 head is written back to the client and the two sockets are piped both ways, so any
 * Upgrade protocol works, WebSocket with every extension included. node:http's client, not undici's
 * `upgrade()`: undici reports a refused upgrade only as "bad upgrade", while here a 403 reaches the client
 * as the server sent it.
 */
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { prepareClientResponseHeaders } from '../../core/proxy/forwarded-headers.ts';
import { CLOSE } from '../../core/proxy/websocket/close-codes.ts';
import { closeFrame, FrameBoundary } from '../../core/proxy/websocket/frame-boundary.ts';
import { isWebSocketUpgrade, prepareUpgradeResponseHeaders } from '../../core/proxy/websocket/handshake.ts';
import { type HeaderObject, NodeHeaders } from './node-headers.ts';

export interface UpstreamTlsOptions {
  /** Trusted CAs in PEM: the system's plus UPSTREAM_CA_FILE's; undefined keeps Node's defaults. */
  readonly ca?: readonly string[];
  readonly rejectUnauthorized: boolean;
}

export interface TunnelRequest {
  /** The selected server's origin, `http://host:port` or `https://host:port`. */
  readonly origin: string;
  /** The request's own path and query. */
  readonly target: string;
  /** Request headers already rewritten by `prepareUpgradeRequestHeaders`. */
  readonly headers: HeaderObject;
  readonly requestId: string;
  /** Aborting it before the server answers ends the attempt (UPSTREAM_TIMEOUT_MS, client gone). */
  readonly signal: AbortSignal;
  readonly tls?: UpstreamTlsOptions;
  /** The sticky cookie (STICKY_COOKIE) for this try's server, if the pick set one: it goes on the 101 or the refusal. */
  readonly setCookie?: string;
  /**
   * WEBSOCKET_IDLE_TIMEOUT_MS: a tunnel with no byte either way for `ms` is closed as `close` does (1001 to both
   * sides of a WebSocket), and `onIdle` is told first. Absent or 0: no limit.
   */
  readonly idle?: { readonly ms: number; readonly graceMs: number; readonly onIdle: () => void };
}

/**
 * - `upgraded`: the 101 went to the client and bytes flow; `closed` settles once both sockets have closed.
 * - `refused`: the server answered without upgrading; that response is being relayed to the client, and
 *   `closed` settles once it has been.
 * - `failed`: nothing was written to the client; the caller answers it (502, 504).
 */
export type TunnelOutcome =
  | {
    readonly kind: 'upgraded';
    readonly status: 101;
    readonly closed: Promise<void>;
    destroy(): void;
    /**
     * Ends the tunnel with a close frame to each side (1001 at shutdown, RFC 6455 §7.4.1), put between two
     * frames, then destroys both sockets after `graceMs`. A tunnel that is not a WebSocket is destroyed at once.
     */
    close(code: number, reason: string, graceMs: number): void;
  }
  | { readonly kind: 'refused'; readonly status: number; readonly closed: Promise<void>; destroy(): void }
  | { readonly kind: 'failed'; readonly error: unknown };

/** An HTTP/1.1 response head; repeated headers (Set-Cookie) stay separate lines. */
export function responseHead(status: number, statusText: string, headers: HeaderObject): string {
  let head = `HTTP/1.1 ${status} ${statusText}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const line of Array.isArray(value) ? value : [value]) head += `${name}: ${line}\r\n`;
  }
  return `${head}\r\n`;
}

const socketClosed = (socket: Duplex): Promise<void> => socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));

/**
 * Stops forwarding `from` to `to` at the next frame boundary, then writes `frame` (a close frame) to `to`.
 * What `from` sends after that is dropped: no data frame may follow a close frame (RFC 6455 §5.5.1).
 */
function endWithCloseFrame(from: Duplex, to: Duplex, boundary: FrameBoundary, frame: Uint8Array): void {
  from.unpipe(to);
  let done = boundary.atBoundary;
  if (done) to.write(frame);
  from.on('data', (chunk: Buffer) => {
    if (done) return;
    const rest = boundary.pushToBoundary(chunk);
    to.write(chunk.subarray(0, rest));
    if (!boundary.atBoundary) return;
    done = true;
    to.write(frame);
  });
  // unpipe() paused `from`; it keeps flowing, so the peer's close reply and end are read.
  from.resume();
}

/** Opens the server side of a tunnel for a client's upgrade request, and connects the two once the server has answered. */
export function openUpgradeTunnel(client: Duplex, head: Buffer, request: TunnelRequest): Promise<TunnelOutcome> {
  const url = new URL(request.origin);
  const secure = url.protocol === 'https:';
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const upstream = (secure ? httpsRequest : httpRequest)({
    host: hostname,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    method: 'GET',
    path: request.target,
    headers: request.headers as Record<string, string | string[]>,
    // An upgraded connection belongs to one tunnel and never goes back to a pool.
    agent: false,
    ...(secure
      ? {
        // SNI is the server's host name; an IP address is not sent as SNI (RFC 6066 §3).
        servername: isIP(hostname) === 0 ? hostname : '',
        rejectUnauthorized: request.tls?.rejectUnauthorized ?? true,
        ...(request.tls?.ca !== undefined ? { ca: [...request.tls.ca] } : {}),
      }
      : {}),
  });

  // The signal is watched only until the server answers: aborting later must not cut an open tunnel.
  const abort = () => upstream.destroy(request.signal.reason instanceof Error ? request.signal.reason : new Error('upgrade aborted'));
  if (request.signal.aborted) abort();
  else request.signal.addEventListener('abort', abort, { once: true });
  const answered = () => request.signal.removeEventListener('abort', abort);

  return new Promise<TunnelOutcome>((resolve) => {
    upstream.once('upgrade', (response: IncomingMessage, server: Socket, serverHead: Buffer) => {
      answered();
      const headers = new NodeHeaders({ ...response.headers });
      prepareUpgradeResponseHeaders(headers, request.requestId, request.setCookie);
      client.write(responseHead(101, response.statusMessage || 'Switching Protocols', headers.object));
      if (serverHead.length > 0) client.write(serverHead);
      if (head.length > 0) server.write(head);
      server.setNoDelay(true);
      // pipe() is the backpressure: it pauses the reading side while the writing side's buffer is full.
      server.pipe(client);
      client.pipe(server);
      const destroy = () => {
        server.destroy();
        client.destroy();
      };
      const webSocket = isWebSocketUpgrade('GET', new NodeHeaders(request.headers));
      const toClient = new FrameBoundary();
      const toServer = new FrameBoundary();
      const trackToClient = (chunk: Buffer) => toClient.push(chunk);
      const trackToServer = (chunk: Buffer) => toServer.push(chunk);
      if (webSocket) {
        toClient.push(serverHead);
        toServer.push(head);
        server.on('data', trackToClient);
        client.on('data', trackToServer);
      }
      const close = (code: number, reason: string, graceMs: number) => {
        if (!webSocket) return destroy();
        server.off('data', trackToClient);
        client.off('data', trackToServer);
        // Frames toward the server are masked, as a client's must be (RFC 6455 §5.3).
        endWithCloseFrame(server, client, toClient, closeFrame(code, reason));
        endWithCloseFrame(client, server, toServer, closeFrame(code, reason, crypto.getRandomValues(new Uint8Array(4))));
        setTimeout(destroy, graceMs).unref();
      };
      const idle = request.idle;
      if (idle !== undefined && idle.ms > 0) {
        // A socket's timeout counts reads and writes alike, so the client's sees traffic in both directions (pings
        // and pongs included: a byte tunnel sees no messages). One timer per tunnel, run by the socket itself.
        const clientSocket = client as Socket;
        clientSocket.setTimeout(idle.ms, () => {
          clientSocket.setTimeout(0);
          idle.onIdle();
          close(CLOSE.goingAway, `no traffic for ${idle.ms} ms`, idle.graceMs);
        });
      }
      // An error or close on either side ends both: a half-open tunnel would hold its lease forever.
      server.once('error', destroy);
      client.once('error', destroy);
      server.once('close', destroy);
      client.once('close', destroy);
      resolve({ kind: 'upgraded', status: 101, closed: Promise.all([socketClosed(server), socketClosed(client)]).then(() => undefined), destroy, close });
    });

    upstream.once('response', (response: IncomingMessage) => {
      answered();
      const headers = new NodeHeaders({ ...response.headers });
      prepareClientResponseHeaders(headers, request.requestId, false);
      if (request.setCookie !== undefined) headers.append('set-cookie', request.setCookie);
      // The client's connection asked to change protocols; it is not reused for another request.
      headers.set('connection', 'close');
      const status = response.statusCode ?? 502;
      client.write(responseHead(status, response.statusMessage ?? '', headers.object));
      response.pipe(client);
      const destroy = () => {
        response.destroy();
        client.destroy();
      };
      response.once('error', destroy);
      client.once('error', destroy);
      resolve({ kind: 'refused', status, closed: socketClosed(client), destroy });
    });

    // `on`, not `once`: a late error after the outcome must not go unhandled; resolving again does nothing.
    upstream.on('error', (error) => {
      answered();
      resolve({ kind: 'failed', error });
    });
    upstream.end();
  });
}
