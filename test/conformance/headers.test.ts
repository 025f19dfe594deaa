/**
 * Conformance: headers in both directions over raw sockets. Hop-by-hop removal (RFC 9110 §7.6.1), end-to-end
 * headers untouched, forwarding headers and TRUST_PROXY, Via, X-Request-Id, Host and PRESERVE_HOST,
 * Set-Cookie lines, and gzip responses whose headers match their bytes on a keep-alive connection.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { TEST_TIMEOUT_MS } from '../support/poll.ts';
import { type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { chunk, exchange, header, headerJoined, jsonBody, LAST_CHUNK, RawConnection, type WireResponse } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { rawValues, type ScriptedBackend, startScripted } from '../support/scripted-backend.ts';
import { type Fixture, rawReq, startFixture, UUID } from './fixture.ts';
import { limit } from './runtime-limits.ts';

interface Echo {
  method: string;
  url: string;
  rawHeaders: string[];
  headers: Record<string, string | string[] | undefined>;
  bodyLength: number;
  body: string;
}

/** Sends exact bytes on a fresh connection and returns the response and the echo the server produced. */
async function echoOf(fx: Fixture, bytes: Buffer): Promise<{ res: WireResponse; echo: Echo }> {
  const res = await exchange(fx.proxy.port, bytes);
  assert.equal(res.status, 200, `${res.statusLine} ${res.body.toString().slice(0, 300)}`);
  return { res, echo: jsonBody<Echo>(res) };
}

/** Header names (lower case) the server received. */
const names = (rawHeaders: string[]) => rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
const one = (rawHeaders: string[], name: string) => {
  const v = rawValues(rawHeaders, name);
  assert.ok(v.length <= 1, `${name} arrived as ${v.length} lines: ${JSON.stringify(v)}`);
  return v[0];
};

const HOP_BY_HOP_REQUEST: [string, string][] = [
  ['Connection', 'keep-alive, X-Secret,  x-other-secret'],
  ['Keep-Alive', 'timeout=77, max=99'],
  ['Proxy-Connection', 'keep-alive'],
  ['TE', 'trailers'],
  ['Trailer', 'X-Checksum'],
  ['Upgrade', 'example/1'],
  ['Proxy-Authorization', 'Basic cHJveHk6c2VjcmV0'],
  ['Proxy-Authenticate', 'Basic realm="client"'],
  ['X-Secret', 'named in Connection'],
  ['X-Other-Secret', 'also named in Connection'],
];

/** Client-sent end-to-end headers and the value the server must see (OWS around a value is not part of it). */
const END_TO_END: { send: [string, string][]; name: string; expect: string }[] = [
  { send: [['X-Custom', 'a,  b  ,c']], name: 'x-custom', expect: 'a,  b  ,c' },
  { send: [['X-Spaced', '   lead and trail   ']], name: 'x-spaced', expect: 'lead and trail' },
  { send: [['X-Inner', 'tab\there  and  two']], name: 'x-inner', expect: 'tab\there  and  two' },
  { send: [['Cache-Control', 'no-cache,  max-age=0']], name: 'cache-control', expect: 'no-cache,  max-age=0' },
  { send: [['Authorization', 'Bearer abc.def.ghi']], name: 'authorization', expect: 'Bearer abc.def.ghi' },
  { send: [['Cookie', 'a=1; b="two words"; c=3']], name: 'cookie', expect: 'a=1; b="two words"; c=3' },
  { send: [['X-Repeat', 'one'], ['X-Repeat', 'two']], name: 'x-repeat', expect: 'one, two' },
  { send: [['User-Agent', 'conformance/1.0']], name: 'user-agent', expect: 'conformance/1.0' },
  { send: [['Accept', 'application/x-conformance']], name: 'accept', expect: 'application/x-conformance' },
  { send: [['Accept-Encoding', 'identity']], name: 'accept-encoding', expect: 'identity' },
];

/** What the proxy itself may add upstream: Host, its forwarding headers, the request id and its own framing/connection headers. */
const PROXY_ADDED = new Set([
  'host',
  'via',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'connection',
  'content-length',
  'transfer-encoding',
]);
/** Headers each runtime's fetch adds on its own when the client sent none (documented in runtime-limits.ts). */
const RUNTIME_ADDED: Record<string, string[]> = {
  deno: ['user-agent', 'accept', 'accept-language', 'accept-encoding'],
  bun: ['user-agent', 'accept'],
};

const GZ_PLAIN = 'conformance gzip body: ' + 'lorem ipsum dolor sit amet '.repeat(60);
const GZ = gzipSync(Buffer.from(GZ_PLAIN));
const COOKIES = ['session=abc123; Path=/; HttpOnly', 'theme=dark; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/', 'empty=; Max-Age=0'];

for (const runtime of selectedRuntimes()) {
  describe(`headers [${runtime.name}]`, () => {
    let fx: Fixture;

    before(async () => {
      fx = await startFixture(runtime, { LOG_LEVEL: 'debug' });
      fx.backend.route('/hop', (req, res) => {
        req.resume();
        res.writeHead(200, [
          'Keep-Alive',
          'timeout=77, max=99',
          'Proxy-Connection',
          'keep-alive',
          'Trailer',
          'X-Checksum',
          'Upgrade',
          'example/1',
          'Proxy-Authenticate',
          'Basic realm="upstream"',
          'TE',
          'trailers',
          'Connection',
          'X-Secret, x-other-secret',
          'X-Secret',
          'named in Connection',
          'X-Other-Secret',
          'also named',
          'X-Custom',
          'a,  b  ,c',
          'Cache-Control',
          'no-store,  private',
          'X-Repeat',
          'one',
          'X-Repeat',
          'two',
          'Content-Type',
          'text/plain',
        ]);
        res.end('hop body');
      });
      fx.backend.route('/via', (req, res) => {
        req.resume();
        res.writeHead(200, { via: '1.0 upstream-cache', 'content-type': 'text/plain', 'content-length': '2' });
        res.end('ok');
      });
      fx.backend.route('/cookies', (req, res) => {
        req.resume();
        res.setHeader('set-cookie', COOKIES);
        res.setHeader('content-type', 'text/plain');
        res.end('cookies');
      });
      fx.backend.route('/gzip', (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': String(GZ.length) });
        res.end(GZ);
      });
      fx.backend.route('/gzip-chunked', (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
        res.write(GZ.subarray(0, 16));
        res.end(GZ.subarray(16));
      });
    });

    after(async () => {
      await fx?.stop();
    });

    test('hop-by-hop request headers, and every header named in Connection, never reach the server', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { echo } = await echoOf(fx, rawReq('GET', '/echo', { headers: [...HOP_BY_HOP_REQUEST, ['X-Kept', 'yes']] }));
      const got = names(echo.rawHeaders);
      for (
        const name of ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'x-secret', 'x-other-secret']
      ) {
        assert.ok(!got.includes(name), `${name} reached the server: ${JSON.stringify(echo.rawHeaders)}`);
      }
      // A Connection header upstream may only be the proxy's own connection management, never the client's list.
      for (const v of rawValues(echo.rawHeaders, 'connection')) assert.match(v, /^\s*(keep-alive|close)\s*$/i, `Connection upstream: ${v}`);
      assert.equal(one(echo.rawHeaders, 'x-kept'), 'yes');
    });

    test(
      "a chunked request body arrives in the proxy's own framing, never with the client's Transfer-Encoding copied",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const body = Buffer.concat([chunk('hello, '), chunk('chunked '), chunk('world'), Buffer.from(LAST_CHUNK)]);
        const { echo } = await echoOf(fx, rawReq('POST', '/echo', { headers: [['Transfer-Encoding', 'chunked'], ['Content-Type', 'text/plain']], body }));
        assert.equal(echo.body, 'hello, chunked world');
        const te = rawValues(echo.rawHeaders, 'transfer-encoding');
        const cl = rawValues(echo.rawHeaders, 'content-length');
        assert.ok(!(te.length > 0 && cl.length > 0), `both Transfer-Encoding ${te} and Content-Length ${cl} upstream`);
        assert.ok(te.length <= 1 && te.every((v) => v.toLowerCase() === 'chunked'), `Transfer-Encoding upstream: ${JSON.stringify(te)}`);
        if (cl.length > 0) assert.deepEqual(cl, ['20']);
      },
    );

    test('end-to-end request headers reach the server untouched: odd spacing, repeated fields, Authorization, Cookie, Cache-Control', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const { echo } = await echoOf(fx, rawReq('GET', '/echo', { headers: END_TO_END.flatMap((h) => h.send) }));
      for (const h of END_TO_END) {
        const values = rawValues(echo.rawHeaders, h.name);
        assert.equal(values.join(', '), h.expect, `${h.name}: ${JSON.stringify(values)}`);
      }
    });

    const added = RUNTIME_ADDED[runtime.name] ?? [];
    test(
      added.length === 0
        ? 'the proxy adds no request headers beyond Host, Via, X-Forwarded-*, X-Request-Id and its own framing'
        : `the proxy adds no request headers beyond Host, Via, X-Forwarded-*, X-Request-Id, its own framing and ${runtime.name}'s fetch defaults (${
          added.join(', ')
        }): ${limit(runtime, 'injectsRequestHeaders')}`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        assert.equal(added.length > 0, limit(runtime, 'injectsRequestHeaders') !== undefined, 'RUNTIME_ADDED and runtime-limits.ts agree');
        const { echo } = await echoOf(fx, rawReq('GET', '/echo', { headers: [['X-Only', '1']] }));
        const extra = names(echo.rawHeaders).filter((n) => n !== 'x-only' && !PROXY_ADDED.has(n) && !added.includes(n));
        assert.deepEqual(extra, [], `headers the client never sent: ${JSON.stringify(echo.rawHeaders)}`);
        for (const n of added) {
          // Documented: the runtime adds these. If it stops, the table in runtime-limits.ts is stale.
          assert.ok(names(echo.rawHeaders).includes(n), `${runtime.name} no longer adds ${n}; update runtime-limits.ts`);
        }
      },
    );

    test('hop-by-hop response headers, and every header named in Connection, never reach the client; end-to-end ones pass untouched', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const res = await exchange(fx.proxy.port, rawReq('GET', '/hop', { close: true }));
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'hop body');
      assert.ok(res.complete, `framing ${res.framing} incomplete`);
      for (const name of ['proxy-connection', 'trailer', 'upgrade', 'proxy-authenticate', 'te', 'x-secret', 'x-other-secret']) {
        assert.equal(res.headers.get(name), undefined, `${name} reached the client: ${JSON.stringify(res.headerLines)}`);
      }
      // The runtime's own Keep-Alive/Connection management is fine; the server's values are not.
      for (const v of res.headers.get('keep-alive') ?? []) assert.doesNotMatch(v, /77|99/, `server's Keep-Alive relayed: ${v}`);
      for (const v of res.headers.get('connection') ?? []) assert.match(v, /^\s*(keep-alive|close)\s*$/i, `Connection to client: ${v}`);
      // The server's chunked framing is its own hop: the client sees the proxy's framing, once.
      const te = res.headers.get('transfer-encoding') ?? [];
      assert.ok(te.length <= 1 && te.every((v) => v.toLowerCase() === 'chunked'), `Transfer-Encoding to client: ${JSON.stringify(te)}`);
      assert.ok(!(te.length > 0 && res.headers.has('content-length')), 'both Transfer-Encoding and Content-Length');
      assert.equal(headerJoined(res, 'x-custom'), 'a,  b  ,c');
      assert.equal(headerJoined(res, 'cache-control'), 'no-store,  private');
      assert.equal(headerJoined(res, 'x-repeat'), 'one, two');
    });

    test(
      'TRUST_PROXY=false: incoming X-Forwarded-For/-Proto/-Host and Forwarded are replaced by what the proxy saw',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const { echo } = await echoOf(
          fx,
          rawReq('GET', '/echo', {
            headers: [
              ['Host', 'client.example:8443'],
              ['X-Forwarded-For', '203.0.113.9, 198.51.100.7'],
              ['X-Forwarded-Proto', 'https'],
              ['X-Forwarded-Host', 'spoofed.example'],
              ['Forwarded', 'for=203.0.113.9;proto=https;host=spoofed.example'],
            ],
          }),
        );
        assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
        assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-proto'), ['http']);
        assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-host'), ['client.example:8443']);
        assert.deepEqual(rawValues(echo.rawHeaders, 'forwarded'), [], 'Forwarded from an untrusted client is dropped');
      },
    );

    test('without incoming forwarding headers the proxy sets X-Forwarded-For/-Proto/-Host itself', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { echo } = await echoOf(fx, rawReq('GET', '/echo', { headers: [['Host', 'plain.example']] }));
      assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
      assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-proto'), ['http']);
      assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-host'), ['plain.example']);
    });

    test('Via: 1.1 fairway is appended to any Via, on the request and on the response', { timeout: TEST_TIMEOUT_MS }, async () => {
      const withVia = await echoOf(fx, rawReq('GET', '/echo', { headers: [['Via', '1.0 fred, 1.1 example.com (Apache/1.1)']] }));
      assert.equal(rawValues(withVia.echo.rawHeaders, 'via').join(', '), '1.0 fred, 1.1 example.com (Apache/1.1), 1.1 fairway');
      assert.equal(headerJoined(withVia.res, 'via'), '1.1 fairway', 'response Via when the server sent none');
      const without = await echoOf(fx, rawReq('GET', '/echo'));
      assert.equal(rawValues(without.echo.rawHeaders, 'via').join(', '), '1.1 fairway');
      const res = await exchange(fx.proxy.port, rawReq('GET', '/via', { close: true }));
      assert.equal(res.status, 200);
      assert.equal(headerJoined(res, 'via'), '1.0 upstream-cache, 1.1 fairway');
    });

    test('a valid incoming X-Request-Id (1–200 visible ASCII characters) is kept, sent upstream and returned', { timeout: TEST_TIMEOUT_MS }, async () => {
      const visible = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
      for (const id of ['abc-123', 'x', visible, (visible + visible + visible).slice(0, 200)]) {
        const { res, echo } = await echoOf(fx, rawReq('GET', '/echo', { headers: [['X-Request-Id', id]] }));
        assert.deepEqual(rawValues(echo.rawHeaders, 'x-request-id'), [id], `upstream id for ${JSON.stringify(id)}`);
        assert.deepEqual(res.headers.get('x-request-id'), [id], `returned id for ${JSON.stringify(id)}`);
      }
    });

    test('a missing or invalid X-Request-Id is replaced by a fresh UUID, sent upstream and returned', { timeout: TEST_TIMEOUT_MS }, async () => {
      const invalid: [string, [string, string][]][] = [
        ['missing', []],
        ['empty', [['X-Request-Id', '']]],
        ['201 characters', [['X-Request-Id', 'a'.repeat(201)]]],
        ['contains a space', [['X-Request-Id', 'has space']]],
        ['contains a tab', [['X-Request-Id', 'has\ttab']]],
        // Bytes some HTTP parsers refuse outright (400 before the proxy runs); either way no such id survives.
        ['contains DEL (or refused by the parser)', [['X-Request-Id', 'del\x7fchar']]],
        ['non-ASCII UTF-8 bytes (or refused by the parser)', [['X-Request-Id', Buffer.from('caf\u00e9', 'utf8').toString('latin1')]]],
      ];
      const seen = new Set<string>();
      for (const [what, headers] of invalid) {
        const res = await exchange(fx.proxy.port, rawReq('GET', '/echo', { headers, close: true }));
        if (res.status === 400 && what.includes('refused by the parser')) continue;
        assert.equal(res.status, 200, `${what}: ${res.statusLine}`);
        const echo = jsonBody<Echo>(res);
        const returned = res.headers.get('x-request-id') ?? [];
        assert.equal(returned.length, 1, `${what}: returned ${JSON.stringify(returned)}`);
        assert.match(returned[0]!, UUID, `${what}: returned id ${returned[0]}`);
        assert.deepEqual(rawValues(echo.rawHeaders, 'x-request-id'), returned, `${what}: upstream id equals returned id`);
        assert.ok(!seen.has(returned[0]!), `${what}: id ${returned[0]} reused`);
        seen.add(returned[0]!);
      }
    });

    test('the request id appears as requestId in the access log line', { timeout: TEST_TIMEOUT_MS }, async () => {
      const id = `log-check-${runtime.name}-${Date.now()}`;
      const res = await exchange(fx.proxy.port, rawReq('GET', '/echo?log=1', { headers: [['X-Request-Id', id]], close: true }));
      assert.equal(res.status, 200);
      const line = await fx.proxy.waitForLog((l) => (l as { requestId?: unknown }).requestId === id, 5000);
      assert.equal((line as { path?: unknown }).path, '/echo?log=1');
    });

    test("the server gets its own Host; the client's Host goes in X-Forwarded-Host", { timeout: TEST_TIMEOUT_MS }, async () => {
      const { echo } = await echoOf(fx, rawReq('GET', '/echo', { headers: [['Host', 'Client.Example:8443']] }));
      assert.deepEqual(rawValues(echo.rawHeaders, 'host'), [fx.backend.host]);
      assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-host'), ['Client.Example:8443']);
    });

    test('three Set-Cookie headers (one with a comma in Expires) stay three separate lines', { timeout: TEST_TIMEOUT_MS }, async () => {
      const res = await exchange(fx.proxy.port, rawReq('GET', '/cookies', { close: true }));
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers.get('set-cookie'), COOKIES, JSON.stringify(res.headerLines));
    });

    const identity = limit(runtime, 'identityUpstream');
    test(
      identity
        ? `the server is asked for Accept-Encoding: identity whatever the client accepts (${identity})`
        : "the client's Accept-Encoding reaches the server untouched",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const res = await exchange(fx.proxy.port, rawReq('GET', '/echo', { close: true, headers: [['Accept-Encoding', 'gzip, br']] }));
        assert.equal(res.status, 200);
        const echo = jsonBody<Echo>(res);
        assert.deepEqual(rawValues(echo.rawHeaders, 'accept-encoding'), [identity ? 'identity' : 'gzip, br']);
      },
    );

    test(
      'a gzip response reaches the client byte for byte compressed with matching Content-Encoding/Content-Length; the keep-alive connection stays in sync',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const conn = await RawConnection.open(fx.proxy.port);
        try {
          for (const path of ['/gzip', '/gzip-chunked']) {
            await conn.write(rawReq('GET', path, { headers: [['Accept-Encoding', 'gzip']] }));
            const res = await conn.readResponse();
            assert.equal(res.status, 200, `${path}: ${res.statusLine}`);
            assert.ok(res.complete, `${path}: ${res.framing} body incomplete`);
            const cl = res.headers.get('content-length');
            const te = res.headers.get('transfer-encoding');
            assert.ok(!(cl && te), `${path}: both Content-Length and Transfer-Encoding`);
            if (cl) assert.equal(Number(cl[0]), res.body.length, `${path}: Content-Length equals the bytes received`);
            assert.ok(cl !== undefined || te !== undefined, `${path}: no framing on a keep-alive response`);
            assert.equal(header(res, 'content-encoding'), 'gzip');
            assert.ok(res.body.equals(GZ), `${path}: gzip bytes relayed byte for byte`);
            if (path === '/gzip') assert.deepEqual(cl, [String(GZ.length)]);
          }
          // No desync: the next request on the same connection gets its own, correct answer.
          await conn.write(rawReq('GET', '/echo?after-gzip=1'));
          const next = await conn.readResponse();
          assert.equal(next.status, 200, next.statusLine);
          assert.equal(jsonBody<Echo>(next).url, '/echo?after-gzip=1');
        } finally {
          conn.destroy();
        }
      },
    );

    test('a request sent with Connection: close is answered with Connection: close, then the connection closes (RFC 9112 §9.6)', async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write(rawReq('GET', '/via', { close: true }));
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        assert.match(headerJoined(res, 'connection') ?? '', /\bclose\b/i);
        assert.equal(await conn.waitClose(5_000), true, 'the connection closed');
      } finally {
        conn.destroy();
      }
    });
  });

  describe(`headers with TRUST_PROXY=true and PRESERVE_HOST=true [${runtime.name}]`, () => {
    let fx: Fixture;
    before(async () => {
      fx = await startFixture(runtime, { TRUST_PROXY: 'true', PRESERVE_HOST: 'true' });
    });
    after(async () => {
      await fx?.stop();
    });

    test(
      'TRUST_PROXY=true: the client address is appended to X-Forwarded-For; X-Forwarded-Proto and -Host are kept',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const { echo } = await echoOf(
          fx,
          rawReq('GET', '/echo', {
            headers: [
              ['Host', 'edge.example'],
              ['X-Forwarded-For', '203.0.113.9, 198.51.100.7'],
              ['X-Forwarded-Proto', 'https'],
              ['X-Forwarded-Host', 'public.example'],
            ],
          }),
        );
        assert.equal(rawValues(echo.rawHeaders, 'x-forwarded-for').join(', '), '203.0.113.9, 198.51.100.7, 127.0.0.1');
        assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-proto'), ['https']);
        assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-host'), ['public.example']);
      },
    );

    test('TRUST_PROXY=true: repeated X-Forwarded-For lines are combined in order before the client address', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { echo } = await echoOf(fx, rawReq('GET', '/echo', { headers: [['X-Forwarded-For', 'a'], ['X-Forwarded-For', 'b']] }));
      assert.equal(rawValues(echo.rawHeaders, 'x-forwarded-for').join(', '), 'a, b, 127.0.0.1');
    });

    test('TRUST_PROXY=true: without incoming forwarding headers the proxy sets its own', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { echo } = await echoOf(fx, rawReq('GET', '/echo', { headers: [['Host', 'edge.example']] }));
      assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
      assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-proto'), ['http']);
      assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-host'), ['edge.example']);
    });

    const noHost = limit(runtime, 'preserveHost');
    test(
      noHost
        ? `PRESERVE_HOST=true cannot send the client's Host on ${runtime.name} (${noHost}): the server gets its own host and X-Forwarded-Host has the client's`
        : "PRESERVE_HOST=true sends the client's Host upstream (and keeps it in X-Forwarded-Host)",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const { echo } = await echoOf(fx, rawReq('GET', '/echo', { headers: [['Host', 'Client.Example:8443']] }));
        assert.deepEqual(rawValues(echo.rawHeaders, 'host'), [noHost ? fx.backend.host : 'Client.Example:8443']);
        assert.deepEqual(rawValues(echo.rawHeaders, 'x-forwarded-host'), ['Client.Example:8443']);
      },
    );
  });

  describe(`client address over IPv6 [${runtime.name}]`, () => {
    let backend: ScriptedBackend | undefined;
    let proxy: ProxyHandle | undefined;
    const ipv6 = ipv6Loopback();
    after(async () => {
      await proxy?.stop();
      await backend?.close();
    });

    test(
      'a client on ::1 is reported as ::1 in X-Forwarded-For',
      { timeout: TEST_TIMEOUT_MS, skip: ipv6 ? false : 'this machine has no IPv6 loopback (::1), so no client can connect from it' },
      async () => {
        backend = await startScripted('origin-v6');
        proxy = await startProxy(runtime, { BACKEND_SERVERS: backend.url, HOST: '::1' });
        const res = await exchange(proxy.port, rawReq('GET', '/echo', { host: `[::1]:${proxy.port}`, close: true }), { host: '::1' });
        assert.equal(res.status, 200, res.statusLine);
        assert.deepEqual(rawValues(jsonBody<Echo>(res).rawHeaders, 'x-forwarded-for'), ['::1']);
      },
    );
  });
}

/** True when ::1 can be bound here (checked once, synchronously, from /proc). */
function ipv6Loopback(): boolean {
  try {
    return readFileSync('/proc/net/if_inet6', 'utf8').split('\n').some((l) => l.startsWith('00000000000000000000000000000001'));
  } catch {
    return false;
  }
}
