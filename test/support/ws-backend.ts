/**
 * WebSocket servers for the e2e suite, built on the `ws` package over node:http (or node:https): each echoes
 * what it gets (text stays text, binary stays binary), answers GET /health, refuses handshakes to /refuse
 * with a 403 and a body of its own, and obeys a few commands sent as text, so the far side's behaviour can
 * be driven from the client.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface ClosedOnServer {
  readonly code: number;
  readonly reason: string;
}

export interface WsBackend {
  readonly name: string;
  readonly url: string;
  /** Sockets currently open on this server. */
  readonly open: Set<WebSocket>;
  /** Headers of every plain HTTP request this server answered. */
  readonly requests: IncomingMessage['headers'][];
  /** Every handshake this server accepted, with its request headers. */
  readonly handshakes: IncomingMessage['headers'][];
  /** Close codes and reasons this server received, in order. */
  readonly closes: ClosedOnServer[];
  /** While false, GET /health answers 503 (open WebSockets are left alone). */
  healthy: boolean;
  /** Destroys every connection at once and stops listening, as a crash would. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Commands a client sends as text: `close:<code>:<reason>` (the server closes), `flood:<count>:<bytes>`
 * (the server sends that many binary messages of that size without waiting), anything else is echoed.
 */
function onConnection(backend: { name: string; closes: ClosedOnServer[] }, socket: WebSocket): void {
  socket.on('message', (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString();
      const close = /^close:(\d+):(.*)$/.exec(text);
      if (close) return socket.close(Number(close[1]), close[2]);
      const flood = /^flood:(\d+):(\d+)$/.exec(text);
      if (flood) {
        const chunk = Buffer.alloc(Number(flood[2]), 7);
        for (let i = 0; i < Number(flood[1]); i++) socket.send(chunk);
        return;
      }
      if (text === 'whoami') return socket.send(backend.name);
    }
    socket.send(data, { binary: isBinary });
  });
  socket.on('close', (code, reason) => backend.closes.push({ code, reason: reason.toString() }));
  socket.on('error', () => {});
}

export async function startWsBackend(name: string, tls?: { cert: string; key: string }): Promise<WsBackend> {
  const backend = { healthy: true } as WsBackend;
  const sockets = new Set<Socket>();
  const requests: IncomingMessage['headers'][] = [];
  const handler = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    requests.push(req.headers);
    // The body is read before the answer, as most servers do.
    req.resume();
    req.once('end', () => respond(req, res));
  };
  const respond = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const health = req.url === '/health';
    res.writeHead(health ? (backend.healthy ? 200 : 503) : 404, { 'content-type': 'text/plain', 'x-backend': name });
    res.end(health ? (backend.healthy ? 'ok' : 'unhealthy') : 'not found');
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const open = new Set<WebSocket>();
  const handshakes: IncomingMessage['headers'][] = [];
  const closes: ClosedOnServer[] = [];
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : protocols.has('graphql-ws') ? 'graphql-ws' : false),
    maxPayload: 64 * 1024 * 1024,
  });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/refuse') {
      socket.end(
        'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nx-refused-by: ' + name + '\r\ncontent-length: 12\r\nconnection: close\r\n\r\nnot for you\n',
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      handshakes.push(req.headers);
      open.add(ws);
      ws.once('close', () => open.delete(ws));
      onConnection({ name, closes }, ws);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  Object.assign(backend, {
    name,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    open,
    requests,
    handshakes,
    closes,
    kill: async () => {
      const closed = stop();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    close: async () => {
      for (const ws of open) ws.terminate();
      const closed = stop();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  });
  return backend;
}
