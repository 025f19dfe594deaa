/**
 * The Web forwarder (Deno and Bun's path) with a fake fetch: the forwarding contract every I/O path
 * shares, then what only the Web path has (Request/Response edge cases, runtimes that report when a
 * response was sent) and the /lb/ endpoints.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExchangeRecord } from '../../src/core/proxy/exchange.ts';
import { assembleBalancer, type Balancer as RuntimeBalancer, type BalancerParts } from '../../src/core/balancer.ts';
import type { Config } from '../../src/core/config/config-types.ts';
import type { ServerConfig } from '../../src/core/config/config-types.ts';
import type { StatsReport } from '../../src/core/stats/stats-report.ts';
import { controlledBody, FakeUpstream, testConfig, type UpstreamHandler } from './fakes.ts';
import { forwarderContract, type ForwarderHarness, type Rig, rigResilience, serverConfigs } from './forwarder-contract.ts';

const webHarness: ForwarderHarness = {
  name: 'Web forwarder, fake fetch',
  midBodyResetOutcome: 'upstream_reset',
  collectsShortBodies: true,
  relaysReasonPhrase: true,
  answersGoneClients: true,
  reset: () => Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) })),
  async rig(handler, options = {}): Promise<Rig> {
    const origins = Array.from({ length: options.servers ?? 1 }, (_, i) => `http://127.0.0.1:${i + 1}`);
    const refused = (): Promise<Response> =>
      Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }));
    const scripted: UpstreamHandler = options.refuseFirst ? (call) => (call.url.startsWith(origins[0]!) ? refused() : handler(call)) : handler;
    const client = new FakeUpstream(scripted, { decodesCompressedBodies: options.decodesCompressedBodies ?? false });
    const servers = serverConfigs(origins, options.weights);
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
    const { balancer, pool, health } = assembleBalancer(config, servers, client, undefined, [{ exchangeEnded: (r) => records.push(r) }]);
    const failing = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.error(new Error('connection reset by client'));
        },
      });
    const send = async (path: string, init?: RequestInit) => {
      const body = options.failUploadReads && init?.body != null ? failing() : init?.body;
      // A runtime's server hands the handler the Content-Length the client sent, as a fetch client does for a string body.
      const headers = new Headers(init?.headers);
      if (typeof body === 'string' && !headers.has('content-length')) headers.set('content-length', String(new TextEncoder().encode(body).byteLength));
      const request = new Request(`http://proxy.example${path}`, { ...init, headers, body, duplex: 'half' } as RequestInit);
      return await balancer.fetch(request, { address: '192.0.2.7' });
    };
    return {
      servers: origins,
      pool,
      health,
      records,
      stats: () => balancer.stats(),
      calls: client.calls,
      call: (n) => client.call(n),
      send,
      async sendMethod(method, path, init = {}) {
        // `new Request` refuses some methods, but runtime servers hand them to the handler: a stand-in object.
        const body = init.body === undefined ? null : new Blob([init.body]).stream();
        const request = { method, url: `http://proxy.example${path}`, headers: new Headers(init.headers), body, signal: new AbortController().signal };
        const response = await balancer.fetch(request as unknown as Request, { address: '192.0.2.7' });
        return { status: response.status, headers: response.headers, body: await response.text() };
      },
      async abandonUpload(path) {
        const response = await send(path, { method: 'POST', body: failing(), duplex: 'half' } as RequestInit);
        assert.equal(response.status, 499);
      },
      close: async () => {},
    };
  },
  unrepresentableRig() {
    // No Response can carry status 600, though undici (and so a fetch-shaped client) accepts any three digits.
    return this.rig(() => ({ status: 600, statusText: '', headers: new Headers({ 'content-type': 'text/plain' }), body: null }) as unknown as Response);
  },
};

forwarderContract(webHarness);

const SERVER_A = 'http://127.0.0.1:1';
const SERVER_B = 'http://127.0.0.1:2';

/** The balancer as runtimes see it, plus the parts tests look into. */
type Balancer = RuntimeBalancer & Omit<BalancerParts, 'balancer'>;

function createBalancer(config: Config, servers: readonly ServerConfig[], client: FakeUpstream): Balancer {
  const { balancer, ...parts } = assembleBalancer(config, servers, client);
  return Object.assign(balancer, parts);
}

interface Setup {
  balancer: Balancer;
  client: FakeUpstream;
}

function setup(
  handler: UpstreamHandler,
  options: { servers?: readonly ServerConfig[]; upstreamTimeoutMs?: number; upstreamReadTimeoutMs?: number; decodesCompressedBodies?: boolean } = {},
): Setup {
  const client = new FakeUpstream(handler, { decodesCompressedBodies: options.decodesCompressedBodies ?? false });
  const servers = options.servers ?? [{ url: SERVER_A, weight: 1 }];
  const config = testConfig({
    upstreamTimeoutMs: options.upstreamTimeoutMs ?? 1_000,
    upstreamReadTimeoutMs: options.upstreamReadTimeoutMs ?? 300_000,
    servers,
  });
  const balancer = createBalancer(config, servers, client);
  return { balancer, client };
}

async function send(balancer: Balancer, input: string | Request, init?: RequestInit): Promise<Response> {
  return await balancer.fetch(typeof input === 'string' ? new Request(input, init) : input, { address: '192.0.2.7' });
}

/** activeConnections as the first server and the stats totals see it; both must always agree. */
function active(balancer: Balancer): number {
  const stats = balancer.stats();
  const perServer = stats.servers.reduce((sum, s) => sum + s.activeConnections, 0);
  assert.equal(perServer, stats.totals.activeConnections, 'per-server and total activeConnections disagree');
  assert.equal(balancer.pool.servers[0]!.inFlight, stats.servers[0]!.activeConnections);
  return stats.totals.activeConnections;
}

async function jsonOf(response: Response): Promise<Record<string, unknown>> {
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return (await response.json()) as Record<string, unknown>;
}

const HOP_BY_HOP_REQUEST: Record<string, string> = {
  connection: 'keep-alive, X-Conn-Named',
  'x-conn-named': 'per-connection',
  'keep-alive': 'timeout=5',
  te: 'trailers',
  'transfer-encoding': 'chunked',
  upgrade: 'h2c',
  'proxy-authorization': 'Basic cHJveHk6cGFzcw==',
  'proxy-connection': 'keep-alive',
  trailer: 'x-checksum',
};

describe('request target', () => {
  test('an absolute-form target naming another host still goes to the server origin', async () => {
    const { balancer, client } = setup(() => new Response('ok'));
    await (await send(balancer, 'http://evil.example/steal?k=v')).text();
    assert.equal(client.calls[0]!.url, 'http://127.0.0.1:1/steal?k=v');
  });
});

describe('headers', () => {
  test('hop-by-hop request headers, those Connection names, and Host are not forwarded; end-to-end ones are', async () => {
    const { balancer, client } = setup(() => new Response('ok'));
    const request = new Request('http://proxy.example/', {
      headers: { ...HOP_BY_HOP_REQUEST, host: 'proxy.example', accept: 'text/plain', authorization: 'Bearer t', 'x-request-id': 'r1' },
    });
    await (await send(balancer, request)).text();
    const forwarded = [...client.calls[0]!.init.headers.keys()].sort();
    assert.deepEqual(forwarded, ['accept', 'authorization', 'via', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-request-id']);
    assert.equal(client.calls[0]!.init.headers.get('authorization'), 'Bearer t');
  });

  test('forwarding leaves the client request headers untouched', async () => {
    const { balancer } = setup(() => new Response('ok'));
    const request = new Request('http://proxy.example/', { headers: { connection: 'close', 'x-a': '1' } });
    await (await send(balancer, request)).text();
    assert.equal(request.headers.get('connection'), 'close');
  });

  test('an uncompressed response keeps Content-Length even with a decoding client', async () => {
    const { balancer } = setup(() => new Response('12345', { headers: { 'content-length': '5' } }), { decodesCompressedBodies: true });
    const response = await send(balancer, 'http://proxy.example/');
    assert.equal(response.headers.get('content-length'), '5');
    assert.equal(await response.text(), '12345');
  });
});

describe('malformed Connection header', () => {
  // Connection's value comes from the client (or the server). "close, foo bar" is a legal field value
  // whose second token is not a header name; Headers.delete("foo bar") throws a TypeError.
  test('a request whose Connection header lists an invalid token is still answered', async () => {
    const { balancer, client } = setup(() => new Response('ok'));
    const request = new Request('http://proxy.example/', { headers: { connection: 'close, foo bar' } });
    let response: Response | undefined;
    let thrown: unknown;
    try {
      response = await send(balancer, request);
    } catch (error) {
      thrown = error;
    }
    assert.equal(thrown, undefined, `fetch rejected: ${String(thrown)}`);
    assert.equal(response!.status, 200);
    assert.equal(client.calls[0]!.init.headers.has('connection'), false);
    await response!.text();
  });

  test('a request with an invalid Connection token does not leave an in-flight count behind', async () => {
    const { balancer } = setup(() => new Response('ok'));
    const request = new Request('http://proxy.example/', { headers: { connection: 'close, foo bar' } });
    try {
      await (await send(balancer, request)).text();
    } catch {
      // Whether it answers is the test above; this one checks the accounting.
    }
    assert.equal(active(balancer), 0);
  });

  test('a response whose Connection header lists an invalid token is still passed on, and its slot released', async () => {
    const body = controlledBody();
    const { balancer } = setup(() => new Response(body.stream, { headers: { connection: 'close, a@b' } }));
    let response: Response | undefined;
    let thrown: unknown;
    try {
      response = await send(balancer, 'http://proxy.example/');
    } catch (error) {
      thrown = error;
    }
    const leftActive = active(balancer);
    assert.equal(thrown, undefined, `fetch rejected: ${String(thrown)} (activeConnections left at ${leftActive})`);
    assert.equal(response!.headers.has('connection'), false);
    body.close();
    await response!.text();
    assert.equal(active(balancer), 0);
  });
});

describe('a response that cannot be passed on', () => {
  // No Response can carry status 600, so a client that reports one (undici accepts any three-digit
  // status) yields an upstream answer the core cannot rebuild for its own client.
  const status600 = (body: ReadableStream<Uint8Array> | null) =>
    ({ status: 600, statusText: '', headers: new Headers({ 'content-type': 'text/plain' }), body }) as unknown as Response;

  test('is answered with a 502 in JSON and its slot is released', async () => {
    const body = controlledBody();
    const { balancer } = setup(() => status600(body.stream));
    const response = await send(balancer, 'http://proxy.example/');
    assert.equal(response.status, 502);
    assert.equal(typeof (await jsonOf(response)).error, 'string');
    assert.equal(active(balancer), 0);
    assert.equal(body.isCancelled, true, 'the upstream body was left open');
  });
});

describe('in-flight accounting', () => {
  test('(e) a request whose client already left is not forwarded at all', async () => {
    const { balancer, client } = setup(() => new Response('ok'));
    const response = await send(balancer, 'http://proxy.example/', { signal: AbortSignal.abort() });
    assert.equal(response.status, 499);
    assert.equal(client.calls.length, 0);
    assert.equal(active(balancer), 0);
    assert.equal(balancer.stats().totals.errors, 0);
  });

  test('(h) a HEAD response has no body and releases at once; an upstream body sent anyway is cancelled', async () => {
    const body = controlledBody();
    const { balancer } = setup(() => new Response(body.stream, { headers: { 'content-length': '1234' } }));
    const response = await send(balancer, 'http://proxy.example/file', { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.body, null);
    assert.equal(response.headers.get('content-length'), '1234');
    assert.equal(active(balancer), 0);
    assert.equal(body.isCancelled, true);
  });
});

describe('responses and metrics', () => {
});

describe('/lb/ endpoints', () => {
  test('GET /lb/stats reports algorithm, uptime, totals and every server', async () => {
    const { balancer, client } = setup(({ url }) => new Response('x', { status: url.endsWith('/fail') ? 500 : 200 }), {
      servers: [
        { url: SERVER_A, weight: 3 },
        { url: SERVER_B, weight: 1 },
      ],
    });
    for (const path of ['/ok', '/fail', '/ok', '/ok']) await (await send(balancer, `http://proxy.example${path}`)).text();
    await balancer.health.check(balancer.pool.servers[1]!);

    const response = await send(balancer, 'http://proxy.example/lb/stats');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const stats = (await jsonOf(response)) as unknown as StatsReport;
    assert.equal(client.calls.length, 5, 'the stats request reached an upstream server');
    assert.deepEqual(Object.keys(stats).sort(), ['algorithm', 'servers', 'totals', 'uptimeSeconds', 'worker']);
    assert.deepEqual(stats.worker, { id: 1, count: 1, scope: 'whole process' });
    assert.equal(stats.algorithm, 'round_robin');
    assert.equal(typeof stats.uptimeSeconds, 'number');
    assert.ok(stats.uptimeSeconds >= 0);
    assert.deepEqual(stats.totals, { requests: 4, errors: 1, errorRate: 0.25, activeConnections: 0, websockets: 0 });
    assert.equal(stats.servers.length, 2);
    for (const s of stats.servers) {
      assert.deepEqual(Object.keys(s).sort(), [
        'activeConnections',
        'adminState',
        'consecutiveFailures',
        'ejectedUntil',
        'ejections',
        'errorRate',
        'errors',
        'healthy',
        'id',
        'lastHealthCheck',
        'requests',
        'responseTimeMs',
        'retriesAway',
        'retriesTo',
        'slowStartShare',
        'slowStartUntil',
        'state',
        'url',
        'websockets',
        'weight',
      ]);
    }
    const [a, b] = stats.servers as [StatsReport['servers'][number], StatsReport['servers'][number]];
    // Round robin: /ok -> A, /fail -> B, /ok -> A, /ok -> B.
    assert.deepEqual([a.url, a.weight, a.healthy, a.activeConnections, a.requests, a.errors, a.errorRate], [SERVER_A, 3, true, 0, 2, 0, 0]);
    assert.deepEqual([b.url, b.weight, b.requests, b.errors, b.errorRate], [SERVER_B, 1, 2, 1, 0.5]);
    assert.deepEqual(Object.keys(a.responseTimeMs ?? {}).sort(), ['avg', 'p50', 'p95', 'p99']);
    assert.equal(a.lastHealthCheck, null);
    assert.equal(b.lastHealthCheck?.ok, true);
    assert.equal(b.lastHealthCheck?.status, 200);
  });

  test('GET /lb/health answers 200 even when no server is healthy', async () => {
    const { balancer } = setup(() => new Response('ok'));
    balancer.health.markUnhealthy(balancer.pool.servers[0]!, 'test');
    const response = await send(balancer, 'http://proxy.example/lb/health');
    assert.equal(response.status, 200);
    assert.deepEqual(await jsonOf(response), { status: 'ok' });
  });

  test('GET /lb/ready answers 200 with the healthy count, and 503 once none is healthy', async () => {
    const { balancer } = setup(() => new Response('ok'), {
      servers: [
        { url: SERVER_A, weight: 1 },
        { url: SERVER_B, weight: 1 },
      ],
    });
    let response = await send(balancer, 'http://proxy.example/lb/ready');
    assert.equal(response.status, 200);
    assert.deepEqual(await jsonOf(response), { status: 'ready', healthyServers: 2 });

    for (const s of balancer.pool.servers) balancer.health.markUnhealthy(s, 'test');
    response = await send(balancer, 'http://proxy.example/lb/ready');
    assert.equal(response.status, 503);
    const json = await jsonOf(response);
    assert.equal(json.status, 'not ready');
    assert.equal(json.healthyServers, 0);
    assert.equal(typeof json.error, 'string');
  });

  test('an unknown /lb/ path or method answers 404 in JSON and is never proxied', async () => {
    const { balancer, client } = setup(() => new Response('proxied'));
    for (
      const [url, method] of [
        ['http://proxy.example/lb/x', 'GET'],
        ['http://proxy.example/lb', 'GET'],
        ['http://proxy.example/lb/stats', 'POST'],
      ] as const
    ) {
      const response = await send(balancer, url, { method });
      assert.equal(response.status, 404, `${method} ${url}`);
      assert.equal(typeof (await jsonOf(response)).error, 'string');
    }
    assert.equal(client.calls.length, 0);
    assert.equal(balancer.stats().totals.requests, 0, 'admin requests were counted as proxied traffic');
  });

  test('/lbx is an ordinary path and is proxied', async () => {
    const { balancer, client } = setup(() => new Response('proxied'));
    const response = await send(balancer, 'http://proxy.example/lbx?y=1');
    assert.equal(await response.text(), 'proxied');
    assert.equal(client.calls[0]!.url, 'http://127.0.0.1:1/lbx?y=1');
  });
});

describe('lifecycle', () => {
  test('stop() closes the upstream client', async () => {
    const { balancer, client } = setup(() => new Response('ok'));
    await balancer.stop();
    assert.equal(client.closed, true);
  });
});

describe('requests refused or cut short by the client', () => {
  test('CONNECT, TRACE and TRACK get 405 in JSON before any server is chosen, in any letter case (RFC 9110 §9.1)', async () => {
    const { balancer, client } = setup(() => Promise.resolve(new Response('never')));
    for (const method of ['CONNECT', 'TRACE', 'TRACK', 'trace', 'Connect', 'track']) {
      // `new Request` refuses these methods, but runtime servers hand them to the handler: a stand-in object.
      const request = { method, url: 'http://proxy.example/x', headers: new Headers(), body: null, signal: new AbortController().signal };
      const response = await balancer.fetch(request as unknown as Request, { address: '192.0.2.7' });
      assert.equal(response.status, 405, method);
      assert.match((await jsonOf(response)).error as string, new RegExp(method));
    }
    assert.equal(client.calls.length, 0);
    assert.equal(balancer.pool.servers[0]!.healthy, true);
  });
});

describe('client input that is refused, never blamed on the server (issue 8)', () => {
  const standIn = (method: string, headers: Record<string, string>) =>
    ({ method, url: 'http://proxy.example/x', headers: new Headers(headers), body: null, signal: new AbortController().signal }) as unknown as Request;

  test('a Content-Length that is not one number gets 400 before any server is chosen (Bun\'s fetch throws on "5, 5")', async () => {
    const { balancer, client } = setup(() => Promise.resolve(new Response('never')));
    const response = await balancer.fetch(standIn('POST', { 'content-length': '5, 5' }), { address: '192.0.2.7' });
    assert.equal(response.status, 400);
    assert.match((await jsonOf(response)).error as string, /Content-Length/);
    assert.equal(client.calls.length, 0);
    assert.equal(balancer.pool.servers[0]!.healthy, true);
  });

  test('a GET whose body the runtime dropped (its framing headers remain) gets 501, never forwarded without it', async () => {
    const { balancer, client } = setup(() => Promise.resolve(new Response('never')));
    for (const method of ['GET', 'HEAD']) {
      const response = await balancer.fetch(standIn(method, { 'content-length': '5' }), { address: '192.0.2.7' });
      assert.equal(response.status, 501, method);
    }
    assert.equal(client.calls.length, 0);
  });

  test('VIA=off adds no Via header to the response', async () => {
    const client = new FakeUpstream(() => Promise.resolve(new Response('ok')), { decodesCompressedBodies: false });
    const servers = [{ url: SERVER_A, weight: 1 }];
    const balancer = createBalancer(testConfig({ servers, via: false }), servers, client);
    const response = await send(balancer, 'http://proxy.example/');
    assert.equal(response.headers.get('via'), null);
    assert.equal(await response.text(), 'ok');
    assert.equal((await client.call(1)).init.headers.get('via'), null);
  });
});

describe('runtimes that report when a response has been sent', () => {
  test('the count is released when the runtime says the response was sent, or that sending failed (no UPSTREAM_READ_TIMEOUT_MS)', async () => {
    // With a read limit the body passes through Fairway's own stream instead, which meters the gaps.
    const { balancer } = setup(() => Promise.resolve(new Response('streamed body')), { upstreamReadTimeoutMs: 0 });
    for (const outcome of ['sent', 'failed'] as const) {
      let settle!: (ok: boolean) => void;
      const completed = new Promise<void>((resolve, reject) => (settle = (ok) => (ok ? resolve() : reject(new Error('connection reset')))));
      const response = await balancer.fetch(new Request('http://proxy.example/'), { address: '192.0.2.7', completed });
      assert.equal(await response.text(), 'streamed body');
      assert.equal(active(balancer), 1, `${outcome}: reading the body alone does not release the count`);
      settle(outcome === 'sent');
      await completed.catch(() => {});
      await Promise.resolve();
      assert.equal(active(balancer), 0, `${outcome}: released once the runtime reported`);
    }
  });
});

describe('chunks a runtime frees once passed on (UpstreamClient.chunkReleaser)', () => {
  const chunks = () => [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5]), new Uint8Array([6])];
  const streamOf = (parts: Uint8Array[]) =>
    new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = parts.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });

  test('a streamed response chunk is released only when the client asks for the next one, and the client gets every byte', async () => {
    const released: Uint8Array[] = [];
    const { balancer, client } = setup(() => new Response(streamOf(chunks()), { headers: { 'content-type': 'application/octet-stream' } }));
    client.chunkReleaser = () => (chunk) => released.push(chunk);
    const response = await send(balancer, `${SERVER_A}/stream`);
    const reader = response.body!.getReader();
    const seen: number[] = [];
    for (let i = 0;; i++) {
      const { done, value } = await reader.read();
      if (done) break;
      // Each chunk read so far but the one just read has been released, never the one the client holds.
      assert.equal(released.length, i, `released before read ${i}`);
      seen.push(...value);
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
    // The read that found the end was the client asking past the last chunk: that one is released too.
    assert.deepEqual(released.map((c) => [...c]), [[1, 2, 3], [4, 5], [6]]);
  });

  test('a response whose client offers no releaser keeps its chunks', async () => {
    const parts = chunks();
    const kept = [...parts];
    const { balancer, client } = setup(() => new Response(streamOf(parts)));
    client.chunkReleaser = () => undefined;
    const response = await send(balancer, `${SERVER_A}/stream`);
    assert.deepEqual([...new Uint8Array(await response.arrayBuffer())], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(kept.map((c) => c.byteLength), [3, 2, 1]);
  });
});
