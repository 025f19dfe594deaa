/**
 * Node's native forwarder (node:http in, undici out) against the forwarding contract, with real loopback
 * node:http servers scripted by the same handlers the Web path's fake fetch takes. Runs on every runtime
 * the unit tests run on: Deno and Bun implement node:http, and undici runs on both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Agent, type Dispatcher, MockAgent } from 'undici';
import type { ExchangeRecord } from '../../src/core/proxy/exchange.ts';
import { assembleBalancer } from '../../src/core/balancer.ts';
import { createNativeHandler } from '../../src/runtimes/node/native-forwarder.ts';
import { createUndiciUpstream } from '../../src/runtimes/node/undici-upstream.ts';
import { type Deferred, deferred, testConfig, type UpstreamCall, type UpstreamHandler } from './fakes.ts';
import { forwarderContract, type ForwarderHarness, type Rig, type RigOptions, rigResilience, serverConfigs } from './forwarder-contract.ts';

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Records calls and lets a test await the n-th, like FakeUpstream. */
class CallLog {
  readonly calls: UpstreamCall[] = [];
  readonly #waiters: { n: number; d: Deferred<UpstreamCall> }[] = [];

  add(call: UpstreamCall): void {
    this.calls.push(call);
    for (const w of this.#waiters.filter((w) => w.n <= this.calls.length)) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.d.resolve(this.calls[w.n - 1]!);
    }
  }

  call(n: number): Promise<UpstreamCall> {
    if (this.calls.length >= n) return Promise.resolve(this.calls[n - 1]!);
    const d = deferred<UpstreamCall>();
    this.#waiters.push({ n, d });
    return d.promise;
  }
}

/**
 * A real upstream server answering each request with what `handler` returns: its status, headers and body
 * stream written to the socket as they come. A handler that throws resets the connection; the call's signal
 * aborts when the proxy closes the connection early.
 */
function scriptedServer(handler: () => UpstreamHandler, log: CallLog): http.Server {
  return http.createServer((req, res) => {
    const origin = `http://127.0.0.1:${(req.socket.address() as AddressInfo).port}`;
    const closed = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) closed.abort(new Error('proxy closed the connection'));
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const v of Array.isArray(value) ? value : [value ?? '']) headers.append(name, v);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const body = hasBody ? streamOf(req) : null;
    const call: UpstreamCall = {
      url: origin + req.url,
      init: { method: req.method!, headers, body, signal: closed.signal, redirect: 'manual', duplex: 'half' },
    };
    log.add(call);
    Promise.resolve()
      .then(() => handler()(call))
      .then(
        (response) => writeResponse(res, response, closed.signal),
        () => req.socket.destroy(),
      );
  });
}

/** The request body as a Web stream, pulled chunk by chunk (Node 20's types lack ReadableStream.from). */
function streamOf(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  const chunks = (req as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await chunks.next();
      if (done) controller.close();
      else controller.enqueue(new Uint8Array(value));
    },
    cancel: () => void req.destroy(),
  });
}

async function writeResponse(res: http.ServerResponse, response: Response, closed: AbortSignal): Promise<void> {
  const byName = new Map<string, string[]>();
  for (const [name, value] of response.headers) byName.set(name, [...(byName.get(name) ?? []), value]);
  for (const [name, values] of byName) res.setHeader(name, values.length === 1 ? values[0]! : values);
  res.writeHead(response.status, response.statusText);
  if (response.body === null) return void res.end();
  res.flushHeaders();
  const reader = response.body.getReader();
  closed.addEventListener('abort', () => void reader.cancel(closed.reason).catch(() => {}), { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
    res.end();
  } catch {
    res.destroy();
  }
}

/**
 * The request with every body read failing while its connection stays up, as the Web tests' failing stream
 * does: undici reads a Readable through its events and a metered body through its iterator, so both fail.
 */
function failingReads(req: http.IncomingMessage): http.IncomingMessage {
  const failure = new Error('connection reset by client');
  req[Symbol.asyncIterator] = async function* () {
    throw failure;
  };
  // Only while someone reads: node:http resumes (dumps) an unread body itself once the response is done.
  req.once('resume', () => queueMicrotask(() => req.listenerCount('error') > 0 && req.emit('error', failure)));
  return req;
}

interface Parts {
  readonly servers: readonly string[];
  readonly log: CallLog;
  readonly dispatcher: Dispatcher;
  close(): Promise<void>;
}

async function nativeRig(parts: Parts, options: RigOptions): Promise<Rig> {
  const base = createUndiciUpstream(parts.dispatcher);
  const upstream = { ...base, decodesCompressedBodies: options.decodesCompressedBodies ?? false };
  const servers = serverConfigs(parts.servers, options.weights);
  const config = testConfig({
    servers,
    upstreamTimeoutMs: options.upstreamTimeoutMs ?? 1_000,
    maxRequestBodyBytes: options.maxRequestBodyBytes,
    clientBodyTimeoutMs: options.clientBodyTimeoutMs ?? 60_000,
    upstreamReadTimeoutMs: options.upstreamReadTimeoutMs ?? 300_000,
    resilience: rigResilience(options),
    ...options.config,
  });
  const records: ExchangeRecord[] = [];
  const { balancer, pool, health } = assembleBalancer(config, servers, upstream, undefined, [{ exchangeEnded: (r) => records.push(r) }]);
  const notAdmin: http.RequestListener = (_req, res) => void res.writeHead(500).end('admin is not under test');
  const handler = createNativeHandler(balancer, upstream, notAdmin);
  const proxy = http.createServer({ requestTimeout: 0 }, options.failUploadReads ? (req, res) => handler(failingReads(req), res) : handler);
  const port = await listen(proxy);
  // A client pool of its own, so a connection the proxy closed is never reused by the next test.
  const clientAgent = new Agent({ pipelining: 0 });
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  return {
    servers: parts.servers,
    pool,
    health,
    records,
    stats: () => balancer.stats(),
    calls: parts.log.calls,
    call: (n) => parts.log.call(n),
    send: (path, init) => fetch(url(path), { ...init, dispatcher: clientAgent } as RequestInit),
    sendMethod: (method, path, init = {}) =>
      new Promise((resolve, reject) => {
        const request = http.request(url(path), { method, agent: false, headers: init.headers }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value);
            resolve({ status: res.statusCode!, headers, body });
          });
        });
        request.on('error', reject);
        request.end(init.body);
      }),
    async abandonUpload(path) {
      const request = http.request(url(path), { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } });
      request.on('error', () => {});
      request.write('first part of the upload');
      await parts.log.call(1);
      request.destroy();
    },
    async close() {
      await closeServer(proxy);
      await clientAgent.close();
      await parts.close();
    },
  };
}

const nativeHarness: ForwarderHarness = {
  name: 'Node native forwarder, loopback node:http and undici',
  // Deno's node:http emulation neither sets `res.errored` nor emits 'error' when undici destroys the response,
  // so there (and only there: production runs this path on Node) a server breaking off looks like the client leaving.
  midBodyResetOutcome: 'Deno' in globalThis ? 'client_gone' : 'upstream_reset',
  collectsShortBodies: false,
  relaysReasonPhrase: false,
  answersGoneClients: false,
  reset: () => Promise.reject(new Error('reset the connection')),
  async rig(handler, options = {}) {
    const log = new CallLog();
    const servers: http.Server[] = [];
    const origins: string[] = [];
    for (let i = 0; i < (options.servers ?? 1); i++) {
      const server = scriptedServer(() => handler, log);
      servers.push(server);
      origins.push(`http://127.0.0.1:${await listen(server)}`);
    }
    if (options.refuseFirst) {
      // A port nothing listens on any more: connections to it are refused.
      await closeServer(servers.shift()!);
    }
    const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
    return nativeRig(
      {
        servers: origins,
        log,
        dispatcher: agent,
        close: async () => {
          await agent.destroy();
          await Promise.all(servers.map(closeServer));
        },
      },
      options,
    );
  },
  async unrepresentableRig() {
    // undici's parser refuses control characters, so only a mock can hand node:http a header value it refuses to write.
    const origin = 'http://127.0.0.1:9';
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock.get(origin).intercept({ path: () => true, method: () => true }).reply(200, 'body', { headers: { 'x-bad': 'a\u0001b' } }).persist();
    return nativeRig({ servers: [origin], log: new CallLog(), dispatcher: mock, close: () => mock.close() }, {});
  },
};

// Bun resolves `import 'undici'` to a built-in stub (its Agent has no `stream` or `close`), so undici cannot
// run there; the native path is Node's alone and runs here on Node 20, Node 26 and Deno.
if ('Bun' in globalThis) test('forwarding contract: Node native forwarder', { skip: "Bun's built-in undici stub has no Agent.stream" }, () => {});
else forwarderContract(nativeHarness);

test('a 205 response reaches the client with no content and Content-Length: 0, whatever its server sent (RFC 9110 §15.3.6)', {
  skip: 'Bun' in globalThis ? "Bun's built-in undici stub has no Agent.stream" : false,
}, async () => {
  // A raw server: node:http would not send content with a 205 of its own, but a server may.
  const upstream = net.createServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 205 Reset Content\r\ncontent-length: 5\r\n\r\nhello')));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const agent = new Agent();
  const origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const rig = await nativeRig(
    { servers: [origin], log: new CallLog(), dispatcher: agent, close: async () => void (await agent.destroy(), upstream.close()) },
    {},
  );
  try {
    // Through node:http's client: fetch drops a 205 body whatever the bytes, node:http reads what Content-Length says.
    const response = await rig.sendMethod('GET', '/');
    assert.equal(response.status, 205);
    assert.equal(response.body, '');
    assert.equal(response.headers.get('content-length'), '0');
    assert.equal(rig.stats().totals.activeConnections, 0);
  } finally {
    await rig.close();
  }
});
