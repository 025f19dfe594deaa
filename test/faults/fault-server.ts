/**
 * A loopback backend whose faults a test switches on and off: killed and restarted on the same port, hanging while
 * its health endpoint passes, resetting connections, answering bursts of 503, and a health endpoint that flaps.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What non-health requests get: 'ok' answers 200; 'hang' never answers; 'reset' destroys the socket; '503' answers 503. */
export type FaultMode = 'ok' | 'hang' | 'reset' | '503';

export class FaultServer {
  readonly name: string;
  mode: FaultMode = 'ok';
  /** 'ok' answers wait this long, so requests are in flight when a test acts. */
  delayMs = 0;
  /** Requests for these paths never get an answer, whatever the mode. */
  readonly hangPaths = new Set<string>();
  /** Statuses /health answers, in turn; one entry means always that one (a flapping health is e.g. [200, 500]). */
  healthPattern: number[] = [200];
  /** Non-health requests answered 503 before `mode` applies again (a 503 burst). */
  burst503 = 0;
  /** Non-health requests whose connection is reset before `mode` applies again (a kept-alive connection closing under a request). */
  resetNext = 0;
  /** Requests served by mode and health probes seen, for assertions. */
  readonly counts = { requests: 0, probes: 0, answered: 0, hung: 0, reset: 0, unavailable: 0 };
  /** Request bodies received, by request id, to show which were sent twice. */
  readonly bodies = new Map<string, number>();
  /** Requests received whole (head and body), by request id, bodyless ones included. */
  readonly received = new Map<string, number>();
  #server: http.Server | undefined;
  #port = 0;
  readonly #sockets = new Set<Socket>();
  #probe = 0;

  constructor(name: string) {
    this.name = name;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#server?.listening ?? false;
  }

  /** Listens on a free port the first time, and on the same port after a kill, so the proxy's config stays valid. */
  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      // Once stopping, each answer closes its connection (RFC 9112 §9.6), as a server draining for a deploy does.
      // Node's close() alone keeps serving kept-alive connections for as long as a client keeps one busy (the proxy's
      // probes every 200 ms can), so the stop never ended.
      const writeHead = res.writeHead;
      res.writeHead = ((...args: Parameters<typeof res.writeHead>) => {
        if (!server.listening) res.shouldKeepAlive = false;
        return writeHead.apply(res, args);
      }) as typeof res.writeHead;
      this.#handle(req, res);
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => (server.off('error', reject), resolve()));
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Dies like a killed process: stops listening (connections refused) and resets every open connection at once. */
  async kill(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.resetAndDestroy();
    await closed;
  }

  /**
   * Stops like a well-behaved server during a deploy: stops accepting, closes idle kept-alive connections, lets
   * requests in flight finish and closes their connections after them.
   */
  async stopGracefully(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url === '/health') {
      this.counts.probes++;
      const status = this.healthPattern[this.#probe++ % this.healthPattern.length]!;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 400 ? 'ok' : 'failing');
      return;
    }
    this.counts.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['x-request-id'] ?? '');
      if (chunks.length > 0) this.bodies.set(id, (this.bodies.get(id) ?? 0) + 1);
      this.received.set(id, (this.received.get(id) ?? 0) + 1);
      if (this.resetNext > 0) {
        this.resetNext--;
        this.counts.reset++;
        req.socket.resetAndDestroy();
        return;
      }
      if (this.burst503 > 0) {
        this.burst503--;
        this.counts.unavailable++;
        res.writeHead(503, { 'content-type': 'text/plain', 'x-backend': this.name }).end('draining');
        return;
      }
      if (req.url === '/sse') {
        // A server-sent event stream that never ends.
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write('data: hello\n\n');
        return;
      }
      if (this.hangPaths.has(req.url ?? '')) {
        this.counts.hung++;
        return;
      }
      switch (this.mode) {
        case 'hang':
          this.counts.hung++;
          return;
        case 'reset':
          this.counts.reset++;
          req.socket.resetAndDestroy();
          return;
        case '503':
          this.counts.unavailable++;
          res.writeHead(503, { 'content-type': 'text/plain', 'x-backend': this.name }).end('unavailable');
          return;
        case 'ok': {
          const answer = () => {
            this.counts.answered++;
            res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': this.name }).end(`hello from ${this.name}`);
          };
          if (this.delayMs > 0) setTimeout(answer, this.delayMs);
          else answer();
        }
      }
    });
  }
}

export async function startFaultServers(names: string[]): Promise<FaultServer[]> {
  return Promise.all(names.map((name) => new FaultServer(name).start()));
}

export async function killAll(servers: Iterable<FaultServer>): Promise<void> {
  await Promise.all([...servers].map((s) => s.kill()));
}
