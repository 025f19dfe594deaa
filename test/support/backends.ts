/**
 * node:http backend servers on 127.0.0.1 (port 0) with controllable behaviour.
 *
 * Every response carries `x-backend: <name>`. Routes (non-health):
 *   /health (or the configured healthPath) → `healthStatus` (mutable, default 200)
 *   /echo            → 200 JSON {backend, method, url, headers, rawHeaders, body, bodyLength, sha256}
 *   /pipe            → 200, request body piped straight back (streaming echo)
 *   /hold            → waits until release() (or close), then 200; `?early=1` writes "first\n" at once
 *   /stream?chunks=N&interval=MS&size=B → N chunks of B bytes, MS apart
 *   /slow?ms=N       → 200 after N ms
 *   /status/NNN      → that status with a JSON body
 *   /gzip            → gzip body with Content-Encoding: gzip and exact Content-Length
 *   /cookies         → three separate Set-Cookie headers (one with a comma in Expires)
 *   /redirect        → 302 Location: /redirect-target
 *   /bad-connection  → 200 with `Connection: keep-alive, a@b` (a token that is no valid header name)
 *   /destroy         → socket destroyed without a response
 *   anything else    → 200 JSON {backend, method, url}
 * `mode` overrides all non-health paths: 'destroy' (reset the socket), 'hang' (never answer).
 * `delayMs` delays every non-health response.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export type BackendMode = 'normal' | 'destroy' | 'hang';

export interface BackendOptions {
  name: string;
  healthPath?: string;
  healthStatus?: number;
  delayMs?: number;
  mode?: BackendMode;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  at: number;
}

export const GZIP_PLAIN = 'Fairway gzip check: ' + 'the quick brown fox jumps over the lazy dog. '.repeat(40);
export const GZIP_BYTES: Buffer = gzipSync(Buffer.from(GZIP_PLAIN));
export const SET_COOKIES = [
  'session=abc123; Path=/; HttpOnly',
  'theme=dark; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/',
  'empty=; Max-Age=0',
];

export class Backend extends EventEmitter {
  readonly name: string;
  readonly healthPath: string;
  healthStatus: number;
  delayMs: number;
  mode: BackendMode;
  /** Non-health requests received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Health probes received. */
  healthChecks = 0;
  /** Non-health requests whose response has not finished or been aborted yet. */
  inFlight = 0;
  /** Non-health requests that ended with the connection closed before the response finished. */
  aborted = 0;
  private server: http.Server;
  private heldResolvers = new Set<() => void>();
  private timers = new Set<NodeJS.Timeout>();
  private _port = 0;

  constructor(opts: BackendOptions) {
    super();
    this.setMaxListeners(0);
    this.name = opts.name;
    this.healthPath = opts.healthPath ?? '/health';
    this.healthStatus = opts.healthStatus ?? 200;
    this.delayMs = opts.delayMs ?? 0;
    this.mode = opts.mode ?? 'normal';
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
  }

  get port(): number {
    return this._port;
  }
  /** Origin as used in BACKEND_SERVERS, e.g. http://127.0.0.1:40123 */
  get url(): string {
    return `http://127.0.0.1:${this._port}`;
  }
  /** Requests currently parked at /hold. */
  get held(): number {
    return this.heldResolvers.size;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this._port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Lets every request parked at /hold continue. */
  release(): void {
    const rs = [...this.heldResolvers];
    this.heldResolvers.clear();
    for (const r of rs) r();
  }

  /** Stops listening (new connections are refused) and destroys every open connection. */
  async close(): Promise<void> {
    this.release();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!this.server.listening) return;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await closed;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const pathname = url.split('?')[0]!;
    res.setHeader('x-backend', this.name);
    if (pathname === this.healthPath) {
      this.healthChecks++;
      this.emit('health', this.healthChecks);
      req.resume();
      res.writeHead(this.healthStatus, { 'content-type': 'text/plain' });
      res.end(this.healthStatus < 500 ? 'ok' : 'unhealthy');
      return;
    }
    this.requests.push({ method: req.method ?? '', url, headers: req.headers, at: Date.now() });
    this.inFlight++;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.inFlight--;
      if (!res.writableFinished) this.aborted++;
      this.emit('settled');
    };
    res.once('finish', settle);
    res.once('close', settle);
    this.emit('request', this.requests[this.requests.length - 1]);

    if (this.mode === 'destroy') {
      req.socket.destroy();
      return;
    }
    if (this.mode === 'hang') return;
    const go = () => {
      if (!res.destroyed) this.route(req, res, url, pathname);
    };
    if (this.delayMs > 0) this.later(this.delayMs, go);
    else go();
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, url: string, pathname: string): void {
    const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const status = /^\/status\/(\d{3})$/.exec(pathname);
    if (status) {
      req.resume();
      return json(Number(status[1]), { backend: this.name, status: Number(status[1]) });
    }
    switch (pathname) {
      case '/echo': {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          json(200, {
            backend: this.name,
            method: req.method,
            url,
            headers: req.headers,
            rawHeaders: req.rawHeaders,
            body: body.toString('utf8'),
            bodyLength: body.length,
            sha256: createHash('sha256').update(body).digest('hex'),
          });
        });
        return;
      }
      case '/pipe': {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.flushHeaders();
        req.on('data', (c: Buffer) => this.emit('pipe-data', c));
        req.pipe(res);
        return;
      }
      case '/hold': {
        req.resume();
        if (query.get('early') === '1') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('first\n');
        }
        const done = () => {
          if (res.destroyed) return;
          if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(`released ${this.name}\n`);
        };
        this.heldResolvers.add(done);
        res.once('close', () => this.heldResolvers.delete(done));
        this.emit('held', this.held);
        return;
      }
      case '/stream': {
        req.resume();
        const chunks = Number(query.get('chunks') ?? 10);
        const interval = Number(query.get('interval') ?? 20);
        const size = Number(query.get('size') ?? 16);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        let sent = 0;
        const tick = () => {
          if (res.destroyed) return;
          res.write(Buffer.alloc(size, 0x61 + (sent % 26)));
          sent++;
          if (sent >= chunks) res.end();
          else this.later(interval, tick);
        };
        tick();
        return;
      }
      case '/slow': {
        req.resume();
        this.later(Number(query.get('ms') ?? 500), () => {
          if (!res.destroyed) json(200, { backend: this.name, method: req.method, url });
        });
        return;
      }
      case '/gzip': {
        req.resume();
        res.writeHead(200, {
          'content-type': 'text/plain; charset=utf-8',
          'content-encoding': 'gzip',
          'content-length': String(GZIP_BYTES.length),
        });
        res.end(GZIP_BYTES);
        return;
      }
      case '/cookies': {
        req.resume();
        res.setHeader('set-cookie', SET_COOKIES);
        res.setHeader('content-type', 'text/plain');
        res.end('cookies');
        return;
      }
      case '/redirect': {
        req.resume();
        res.writeHead(302, { location: '/redirect-target', 'content-type': 'text/plain' });
        res.end('see /redirect-target');
        return;
      }
      case '/bad-connection': {
        // A Connection header listing a token that is not a valid header name.
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive, a@b', 'x-drop-me': 'hop' });
        res.end('bad connection header');
        return;
      }
      case '/destroy': {
        req.socket.destroy();
        return;
      }
      default:
        req.resume();
        return json(200, { backend: this.name, method: req.method, url });
    }
  }
}

export async function startBackend(opts: BackendOptions): Promise<Backend> {
  return new Backend(opts).listen();
}

/** Starts one backend per option set, in order. */
export async function startBackends(opts: BackendOptions[]): Promise<Backend[]> {
  const out: Backend[] = [];
  try {
    for (const o of opts) out.push(await startBackend(o));
  } catch (e) {
    await closeBackends(out);
    throw e;
  }
  return out;
}

export async function closeBackends(backends: Iterable<Backend | undefined>): Promise<void> {
  await Promise.all([...backends].map((b) => b?.close()));
}

/** BACKEND_SERVERS value for these backends, with optional weights. */
export function backendServers(backends: Backend[], weights?: number[]): string {
  return backends.map((b, i) => (weights ? `${b.url};weight=${weights[i]}` : b.url)).join(',');
}
