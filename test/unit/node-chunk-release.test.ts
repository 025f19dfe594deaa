/** Node's chunk release: a passed-through chunk is freed once its socket write completed, and only one that owns its buffer. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { assembleBalancer } from '../../src/core/balancer.ts';
import { createNativeHandler } from '../../src/runtimes/node/native-forwarder.ts';
import { createUndiciUpstream } from '../../src/runtimes/node/undici-upstream.ts';
import { ownsItsBuffer, releasableUpload, releasesChunks, releaseWhenWritten, releasingWrittenUploads } from '../../src/runtimes/node/chunk-release.ts';
import { testConfig } from './fakes.ts';
import { serverConfigs } from './forwarder-contract.ts';

// Only Node 22+ frees chunks: Node 20 has no ArrayBuffer.prototype.transfer, and Deno's and Bun's node:http are not Node's.
const notReleasing = !releasesChunks && 'chunks are freed only on Node with ArrayBuffer.prototype.transfer';
const KIB = 1024;
const detached = (chunk: Uint8Array) => (chunk.buffer as ArrayBuffer & { detached: boolean }).detached;

test('only a chunk that is the whole of a large ArrayBuffer of its own counts as owning it', () => {
  assert.equal(ownsItsBuffer(new Uint8Array(64 * KIB)), true);
  assert.equal(ownsItsBuffer(Buffer.alloc(64 * KIB)), true);
  // A part of a larger read, and a small allocation from Buffer's shared pool slab.
  assert.equal(ownsItsBuffer(new Uint8Array(128 * KIB).subarray(0, 64 * KIB)), false);
  assert.equal(ownsItsBuffer(new Uint8Array(128 * KIB).subarray(64 * KIB)), false);
  // Node pools allocations under Buffer.poolSize / 2: never a whole slab.
  assert.equal(ownsItsBuffer(Buffer.allocUnsafe((Buffer.poolSize >>> 1) - 1)), false);
  assert.equal(ownsItsBuffer(Buffer.from('a small pooled chunk')), false);
  // Too small to be worth a callback.
  assert.equal(ownsItsBuffer(new Uint8Array(100)), false);
});

/** A connected loopback socket pair: `client` writes, `server` receives. */
async function socketPair(): Promise<{ client: net.Socket; server: net.Socket; close(): void }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect((listener.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const server = await accepted;
  return { client, server, close: () => (client.destroy(), server.destroy(), listener.close()) };
}

test('a chunk is freed only after its write callback, and not when the write failed', { skip: notReleasing }, async () => {
  const pair = await socketPair();
  try {
    const chunk = Buffer.alloc(64 * KIB, 7);
    const written = new Promise<void>((resolve) => pair.client.write(chunk, (error) => (releaseWhenWritten(chunk)(error), resolve())));
    // Handed to the socket, not yet written: still intact.
    assert.equal(detached(chunk), false);
    await written;
    assert.equal(detached(chunk), true);
    const failed = Buffer.alloc(64 * KIB);
    releaseWhenWritten(failed)(new Error('socket closed'));
    assert.equal(detached(failed), false);
  } finally {
    pair.close();
  }
});

test('an upstream socket frees a marked upload chunk once written, never an unmarked or pooled one', { skip: notReleasing }, async () => {
  const pair = await socketPair();
  try {
    const socket = releasingWrittenUploads(pair.client);
    const marked = Buffer.alloc(64 * KIB, 1);
    const unmarked = Buffer.alloc(64 * KIB, 2);
    const pooled = Buffer.from('pooled upload bytes');
    releasableUpload(marked);
    releasableUpload(pooled);
    const own = Buffer.alloc(64 * KIB, 3);
    let received = 0;
    const all = marked.length + unmarked.length + own.length + pooled.length;
    const done = new Promise<void>((resolve) => pair.server.on('data', (data: Buffer) => (received += data.length) === all && resolve()));
    socket.write(marked);
    socket.write(unmarked);
    // A caller's own callback is kept and the chunk left alone.
    releasableUpload(own);
    const ownCalled = new Promise<void>((resolve) => socket.write(own, () => resolve()));
    socket.write(pooled);
    await done;
    await ownCalled;
    // Writes complete in order: once the last one's callback ran, every earlier one's has.
    await new Promise<void>((resolve) => socket.write(Buffer.alloc(0), () => resolve()));
    assert.equal(detached(marked), true);
    assert.equal(detached(unmarked), false);
    assert.equal(detached(own), false);
    assert.equal(detached(pooled), false);
  } finally {
    pair.close();
  }
});

/** Counts ArrayBuffers detached while `run` runs. */
async function countingTransfers(run: () => Promise<void>): Promise<number> {
  const proto = ArrayBuffer.prototype as unknown as { transfer(length?: number): ArrayBuffer };
  const original = proto.transfer;
  let count = 0;
  proto.transfer = function (this: ArrayBuffer, length?: number) {
    count++;
    return original.call(this, length);
  };
  try {
    await run();
  } finally {
    proto.transfer = original;
  }
  return count;
}

const BODY_BYTES = 4 * 1024 * KIB;
const body = Buffer.alloc(BODY_BYTES);
for (let i = 0; i < BODY_BYTES; i += 4) body.writeUInt32LE(i, i);
const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A server that answers GET with `body` and POST with the sha256 of what it received, behind the native forwarder. */
async function proxied(run: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer(async (req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-length': BODY_BYTES });
      for (let at = 0; at < BODY_BYTES; at += 256 * KIB) {
        if (!res.write(body.subarray(at, at + 256 * KIB))) await new Promise((resolve) => res.once('drain', resolve));
      }
      return void res.end();
    }
    const hash = createHash('sha256');
    for await (const chunk of req) hash.update(chunk as Buffer);
    res.end(hash.digest('hex'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const upstream = createUndiciUpstream();
  const servers = serverConfigs([`http://127.0.0.1:${(server.address() as AddressInfo).port}`]);
  const { balancer } = assembleBalancer(testConfig({ servers }), servers, upstream);
  const proxy = http.createServer(createNativeHandler(balancer, upstream, (_req, res) => void res.writeHead(500).end()));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/data`);
  } finally {
    proxy.closeAllConnections();
    server.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await new Promise((resolve) => server.close(resolve));
    await upstream.close?.();
  }
}

/** One request through `http.request`, so the client side allocates no Web streams. */
function send(url: string, method: string, upload?: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, agent: false, headers: upload ? { 'content-length': upload.length } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve(Buffer.concat(parts)));
      res.on('error', reject);
    });
    request.on('error', reject);
    request.end(upload);
  });
}

test('a download through the native forwarder arrives whole while its chunks are freed as they are written', { skip: notReleasing }, async () => {
  let received: Buffer | undefined;
  const freed = await countingTransfers(() => proxied(async (url) => void (received = await send(url, 'GET'))));
  assert.equal(received!.length, BODY_BYTES);
  assert.equal(sha(received!), sha(body));
  assert.ok(freed > 0, `no chunk of a ${BODY_BYTES}-byte download was freed`);
});

test('an upload through the native forwarder arrives whole while its chunks are freed as they are written', { skip: notReleasing }, async () => {
  // Larger than RETRY_BUFFER_BYTES, so it streams: a body kept for a retry is never freed.
  const upload = Buffer.from(body);
  let answer = '';
  const freed = await countingTransfers(() => proxied(async (url) => void (answer = (await send(url, 'POST', upload)).toString())));
  assert.equal(answer, sha(body));
  assert.ok(freed > 0, `no chunk of a ${BODY_BYTES}-byte upload was freed`);
  // The client's own buffer is not the proxy's to free.
  assert.equal(detached(upload), false);
});
