/**
 * A node:http backend on 127.0.0.1 whose behaviour each test scripts per path, recording exactly what
 * arrived (raw header lines in order, the request target, the body) and when its connections close.
 * Also a bare TCP listener that only counts connections (the "evil" host an open proxy would reach).
 *
 * Unscripted paths answer with an echo: 200 JSON {method, url, rawHeaders, headers, bodyLength, sha256, body}.
 * The health path (/health) always answers 200 "ok" and is not recorded.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';

export interface SeenRequest {
  /** Arrival order, from 1. */
  readonly seq: number;
  readonly method: string;
  /** The request target exactly as received. */
  readonly url: string;
  readonly pathname: string;
  readonly rawHeaders: string[];
  readonly headers: http.IncomingHttpHeaders;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly at: number;
  /** Set once the request's connection has closed. */
  socketClosedAt?: number;
  /** Resolves when the request's connection closes. */
  readonly socketClosed: Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest) => void;

/** All values of a header in a raw header list (case-insensitive name), in order. */
export function rawValues(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name.toLowerCase()) out.push(rawHeaders[i + 1]!);
  return out;
}

/** Reads a request body fully (bounded by the request ending or failing). */
export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted')));
  });
}

export const echo: Handler = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const payload = JSON.stringify({
      method: req.method,
      url: req.url,
      rawHeaders: req.rawHeaders,
      headers: req.headers,
      bodyLength: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      body: body.subarray(0, 64 * 1024).toString('utf8'),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  });
};

export class ScriptedBackend extends EventEmitter {
  readonly name: string;
  readonly healthPath = '/health';
  /** Non-health requests, in arrival order. */
  readonly requests: SeenRequest[] = [];
  /** TCP connections accepted so far (health probes included). */
  connections = 0;
  readonly #routes = new Map<string, Handler>();
  readonly #server: http.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #closeWaiters = new WeakMap<net.Socket, Set<() => void>>();
  #port = 0;

  constructor(name: string) {
    super();
    this.setMaxListeners(0);
    this.name = name;
    // Large limits: what a lenient proxy forwards must arrive, so the test sees the proxy's own behaviour.
    this.#server = http.createServer({ maxHeaderSize: 1024 * 1024, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 5000;
    this.#server.on('connection', (s: net.Socket) => {
      this.connections++;
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    // Bad requests from a proxy are worth seeing, not crashing on.
    this.#server.on('clientError', (err, socket) => {
      this.emit('client-error', err);
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  get port(): number {
    return this.#port;
  }
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }
  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }
  /** Open TCP connections right now. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** Scripts `pathname` (exact match, query ignored). */
  route(pathname: string, handler: Handler): this {
    this.#routes.set(pathname, handler);
    return this;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as net.AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    this.#server.closeAllConnections();
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  /** Requests to `pathname` so far. */
  requestsTo(pathname: string): SeenRequest[] {
    return this.requests.filter((r) => r.pathname === pathname);
  }

  /** The first request (already seen or future) matching `pred`, within `timeoutMs`. */
  waitForRequest(pred: (r: SeenRequest) => boolean, timeoutMs = 5000, what = 'a matching request'): Promise<SeenRequest> {
    const found = this.requests.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onReq = (r: SeenRequest) => {
        if (!pred(r)) return;
        clearTimeout(t);
        this.off('request', onReq);
        resolve(r);
      };
      const t = setTimeout(() => {
        this.off('request', onReq);
        reject(
          new Error(
            `backend ${this.name}: no ${what} within ${timeoutMs} ms; saw ${this.requests.map((r) => `${r.method} ${r.url}`).join(' | ') || 'nothing'}`,
          ),
        );
      }, timeoutMs);
      this.on('request', onReq);
    });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (pathname === this.healthPath) {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
      return;
    }
    let markClosed!: () => void;
    const socketClosed = new Promise<void>((r) => {
      markClosed = r;
    });
    const seen: SeenRequest = {
      seq: this.requests.length + 1,
      method: req.method ?? '',
      url,
      pathname,
      rawHeaders: req.rawHeaders,
      headers: req.headers,
      req,
      res,
      at: Date.now(),
      socketClosed,
    };
    const onClose = () => {
      seen.socketClosedAt ??= Date.now();
      markClosed();
    };
    const sock = req.socket;
    if (sock.destroyed) onClose();
    else {
      // One 'close' listener per socket, however many requests a keep-alive connection carries.
      let waiting = this.#closeWaiters.get(sock);
      if (waiting === undefined) {
        const set = new Set<() => void>();
        waiting = set;
        this.#closeWaiters.set(sock, set);
        sock.once('close', () => {
          for (const f of set) f();
          set.clear();
        });
      }
      waiting.add(onClose);
    }
    this.requests.push(seen);
    this.emit('request', seen);
    (this.#routes.get(pathname) ?? echo)(req, res, seen);
  }
}

export async function startScripted(name: string): Promise<ScriptedBackend> {
  return new ScriptedBackend(name).listen();
}

/** A TCP listener that accepts and counts connections and the bytes sent to it, and never answers. */
export class ConnectionCounter {
  connections = 0;
  bytes = 0;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #port = 0;

  constructor() {
    this.#server = net.createServer((s) => {
      this.connections++;
      this.#sockets.add(s);
      s.on('data', (c: Buffer) => {
        this.bytes += c.length;
      });
      s.on('error', () => {});
      s.once('close', () => this.#sockets.delete(s));
    });
  }
  get port(): number {
    return this.#port;
  }
  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }
  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as net.AddressInfo).port;
    return this;
  }
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
