/**
 * Node's byte tunnel for Upgrade requests, against a real `ws` server and client on loopback: the 101 with the
 * server's own headers, messages and close codes unchanged, a refused handshake relayed as the server sent it,
 * and a server that is down reported to the caller. (Node's path; it runs wherever node:http does.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { prepareUpgradeRequestHeaders, requestedUpgrade } from '../../src/core/proxy/websocket/handshake.ts';
import { type HeaderObject, NodeHeaders } from '../../src/runtimes/node/node-headers.ts';
import { openUpgradeTunnel, type TunnelOutcome } from '../../src/runtimes/node/upgrade-tunnel.ts';
import { pollUntil } from '../support/poll.ts';

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

let backend: Server;
let backendPort: number;
let proxy: Server;
let proxyUrl: string;
let origin: string;
const outcomes: TunnelOutcome[] = [];
const seenByServer: IncomingMessage[] = [];
/** Bytes the proxy has read from its latest client connection after the handshake. */
let clientBytesAfterHandshake = 0;
/** Waiting for the next close the echo server sees. */
const serverCloses: ((close: [number, string]) => void)[] = [];

before(async () => {
  backend = createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: true,
    handleProtocols: (offered) => (offered.has('graphql-ws') ? 'graphql-ws' : false),
  });
  wss.on('headers', (headers) => headers.push('X-Backend: echo'));
  backend.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    seenByServer.push(req);
    if (req.url === '/deny') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-Why: nope\r\nContent-Length: 6\r\n\r\ndenied');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('close', (code: number, reason: Buffer) => serverCloses.shift()?.([code, reason.toString()]));
      ws.on('message', (data, isBinary) => {
        const text = data.toString();
        if (!isBinary && text.startsWith('close:')) ws.close(Number(text.slice(6)), 'server says bye');
        else ws.send(data, { binary: isBinary });
      });
    });
  });
  backendPort = await listen(backend);
  origin = `http://127.0.0.1:${backendPort}`;

  proxy = createServer((_req, res) => res.end('not an upgrade'));
  proxy.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    clientBytesAfterHandshake = 0;
    socket.on('data', (chunk: Buffer) => (clientBytesAfterHandshake += chunk.length));
    const headers = new NodeHeaders({ ...req.headers } as HeaderObject);
    const upgrade = requestedUpgrade(headers) ?? 'websocket';
    prepareUpgradeRequestHeaders(
      headers,
      { client: { address: req.socket.remoteAddress }, requestId: 'rid-1' },
      { trustProxy: false, preserveHost: false },
      upgrade,
    );
    const target = req.url === '/down' ? 'http://127.0.0.1:1' : origin;
    void openUpgradeTunnel(socket, head, {
      origin: target,
      target: req.url ?? '/',
      headers: headers.object,
      requestId: 'rid-1',
      signal: new AbortController().signal,
    }).then(
      (outcome) => {
        outcomes.push(outcome);
        if (outcome.kind === 'failed') socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      },
    );
  });
  proxyUrl = `ws://127.0.0.1:${await listen(proxy)}`;
});

after(async () => {
  for (const outcome of outcomes) if (outcome.kind !== 'failed') outcome.destroy();
  await Promise.all([close(proxy), close(backend)]);
});

const opened = (ws: WebSocket): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    ws.once('upgrade', resolve);
    ws.once('error', reject);
  });
const nextMessage = (ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> =>
  new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));

describe('openUpgradeTunnel', () => {
  test("the 101 carries the server's headers, its subprotocol and extensions, plus Via and the request id", async () => {
    const ws = new WebSocket(`${proxyUrl}/chat`, ['graphql-ws', 'other'], { perMessageDeflate: true });
    const response = await opened(ws);
    assert.equal(response.headers['x-backend'], 'echo');
    assert.equal(response.headers['sec-websocket-protocol'], 'graphql-ws');
    assert.match(String(response.headers['sec-websocket-extensions']), /permessage-deflate/);
    assert.equal(response.headers.via, '1.1 fairway');
    assert.equal(response.headers['x-request-id'], 'rid-1');
    const request = seenByServer.at(-1);
    assert.equal(request?.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(request?.headers['sec-websocket-protocol'], 'graphql-ws,other');
    ws.close();
  });

  test('text, binary and a 4 MiB message arrive unchanged, and a close code and reason are relayed', async () => {
    const ws = new WebSocket(`${proxyUrl}/echo`);
    await opened(ws);
    ws.send('hello');
    assert.deepEqual(await nextMessage(ws).then((m) => [m.data.toString(), m.isBinary]), ['hello', false]);
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    ws.send(big);
    const echoed = await nextMessage(ws);
    assert.equal(echoed.isBinary, true);
    assert.ok(echoed.data.equals(big));
    const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])));
    ws.send('close:4001');
    assert.deepEqual(await closed, [4001, 'server says bye']);
    const outcome = outcomes.at(-1);
    assert.equal(outcome?.kind, 'upgraded');
    if (outcome?.kind === 'upgraded') await outcome.closed;
  });

  test('closing the tunnel at shutdown sends 1001 to both sides between frames, even in the middle of a large message', async () => {
    const serverSaw = new Promise<[number, string]>((resolve) => serverCloses.push(resolve));
    const ws = new WebSocket(`${proxyUrl}/echo`);
    await opened(ws);
    const outcome = outcomes.at(-1);
    assert.equal(outcome?.kind, 'upgraded');
    if (outcome?.kind !== 'upgraded') return;
    const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])));
    outcome.close(1001, 'proxy shutting down', 2_000);
    assert.deepEqual(await closed, [1001, 'proxy shutting down']);
    assert.deepEqual(await serverSaw, [1001, 'proxy shutting down']);
    await outcome.closed;
  });

  test('a close at shutdown waits for the frame in progress to end, so the server never sees a broken frame', async () => {
    const serverSaw = new Promise<[number, string]>((resolve) => serverCloses.push(resolve));
    const raw = connect(Number(new URL(proxyUrl).port), '127.0.0.1');
    const handshake =
      'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    let received = Buffer.alloc(0);
    raw.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    raw.write(handshake);
    await pollUntil(() => received.includes('\r\n\r\n'), { description: '101 from the proxy' });
    // A masked binary frame of 1000 bytes (mask key 0), of which only the header and 500 bytes are sent now.
    const frameHeader = Buffer.from([0x82, 0x80 | 126, 0x03, 0xe8, 0, 0, 0, 0]);
    raw.write(Buffer.concat([frameHeader, Buffer.alloc(500, 1)]));
    await pollUntil(() => clientBytesAfterHandshake >= frameHeader.length + 500, { description: 'half a frame read by the proxy' });
    const outcome = outcomes.at(-1);
    if (outcome?.kind !== 'upgraded') return assert.fail('expected an upgraded tunnel');
    outcome.close(1001, 'proxy shutting down', 2_000);
    raw.write(Buffer.alloc(500, 1));
    assert.deepEqual(await serverSaw, [1001, 'proxy shutting down']);
    const head = received.indexOf('\r\n\r\n') + 4;
    await pollUntil(() => received.includes(Buffer.from([0x88])), { description: 'a close frame toward the client' });
    const frames = received.subarray(head);
    const closeAt = frames.indexOf(0x88);
    assert.equal(frames.readUInt16BE(closeAt + 2), 1001);
    raw.destroy();
  });

  test('a refused handshake reaches the client as the server sent it: status, headers and body', async () => {
    const ws = new WebSocket(`${proxyUrl}/deny`);
    const response = await new Promise<IncomingMessage>((resolve) => ws.once('unexpected-response', (_req, res: IncomingMessage) => resolve(res)));
    ws.on('error', () => {});
    assert.equal(response.statusCode, 403);
    assert.equal(response.headers['x-why'], 'nope');
    assert.equal(response.headers.via, '1.1 fairway');
    let body = '';
    for await (const chunk of response) body += String(chunk);
    assert.equal(body, 'denied');
    assert.equal(outcomes.at(-1)?.kind, 'refused');
  });

  test('a server that is down is reported to the caller with nothing written to the client', async () => {
    const ws = new WebSocket(`${proxyUrl}/down`);
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res: IncomingMessage) => resolve(res.statusCode ?? 0)));
    assert.equal(status, 502);
    const outcome = outcomes.at(-1);
    assert.equal(outcome?.kind, 'failed');
  });
});
