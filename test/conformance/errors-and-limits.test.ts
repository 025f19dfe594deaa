/**
 * Conformance: the proxy's own answers and the runtime's edges. 502/503/504 as JSON with the request id,
 * bodiless responses (204, 304, HEAD) framed right on a keep-alive connection, Expect: 100-continue,
 * MAX_REQUEST_BODY_BYTES (declared and streamed), oversized and malformed requests answered without a
 * crash and without harming the next request.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { freePort } from '../../scripts/lib/processes.mjs';
import { request } from '../support/http.ts';
import { pollUntil, TEST_TIMEOUT_MS, withTimeout } from '../support/poll.ts';
import { type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { chunk, exchange, header, jsonBody, LAST_CHUNK, type MalformedOutcome, RawConnection, sendMalformed, type WireResponse } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { readBody } from '../support/scripted-backend.ts';
import { type Fixture, rawReq, startFixture, UUID, waitNoActive, waitReady } from './fixture.ts';
import { limit, type LimitKey } from './runtime-limits.ts';

const UPSTREAM_TIMEOUT_MS = 500;
const GZ_PLAIN = 'head check '.repeat(100);
const GZ = gzipSync(Buffer.from(GZ_PLAIN));

/** A JSON error from the proxy itself: status, JSON content type, `error` text and `requestId` equal to X-Request-Id. */
function assertJsonError(res: WireResponse, status: number, expectedId?: string): string {
  assert.equal(res.status, status, `expected ${status}, got ${res.statusLine}: ${res.body.toString().slice(0, 300)}`);
  assert.match(header(res, 'content-type') ?? '', /application\/json/);
  const body = jsonBody<{ error?: unknown; requestId?: unknown }>(res);
  assert.equal(typeof body.error, 'string', `error text in ${res.body.toString()}`);
  const id = header(res, 'x-request-id');
  assert.ok(id, `no X-Request-Id on the ${status}: ${JSON.stringify(res.headerLines)}`);
  assert.equal(body.requestId, id, 'requestId in the body equals the X-Request-Id header');
  if (expectedId !== undefined) assert.equal(id, expectedId, "the client's request id is kept on the error");
  else assert.match(id, UUID);
  return id;
}

const describeOutcome = (o: MalformedOutcome) =>
  o.kind === 'response'
    ? `${o.res.statusLine} ${o.res.body.toString().slice(0, 120)}`
    : `${o.kind} ${JSON.stringify(o.received.toString('latin1').slice(0, 100))}`;

for (const runtime of selectedRuntimes()) {
  describe(`errors, bodiless responses and Expect [${runtime.name}]`, () => {
    let fx: Fixture;

    before(async () => {
      fx = await startFixture(runtime, { UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS) });
      fx.backend.route('/hang', (req) => req.resume());
      fx.backend.route('/reset', (req) => req.socket.destroy());
      fx.backend.route('/204', (req, res) => {
        req.resume();
        res.writeHead(204, { etag: '"v1"', 'x-custom': 'kept-204' });
        res.end();
      });
      fx.backend.route('/304', (req, res) => {
        req.resume();
        res.writeHead(304, { etag: '"v1"', 'x-custom': 'kept-304', 'cache-control': 'max-age=60' });
        res.end();
      });
      fx.backend.route('/sized', (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1234', 'x-custom': 'kept-head' });
        // HEAD: node:http sends no body whatever is written; GET gets the 1234 bytes.
        res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(1234, 0x7a));
      });
      fx.backend.route('/gzip', (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': String(GZ.length) });
        res.end(req.method === 'HEAD' ? undefined : GZ);
      });
    });
    after(async () => {
      await fx?.stop();
    });
    beforeEach(async () => {
      await waitReady(fx);
    });

    test(
      `no response headers within UPSTREAM_TIMEOUT_MS gives 504 with a JSON body carrying requestId, also in the log`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const started = Date.now();
        const res = await exchange(fx.proxy.port, rawReq('GET', '/hang', { close: true }), { timeoutMs: 10_000 });
        const id = assertJsonError(res, 504);
        assert.ok(Date.now() - started >= UPSTREAM_TIMEOUT_MS - 50, `504 after ${Date.now() - started} ms`);
        const line = await fx.proxy.waitForLog((l) => l.properties?.event === 'forward_failed' && l.properties?.requestId === id, 5000);
        assert.equal(line.properties?.kind, 'timeout');
        // A client-chosen id is kept on the error too.
        await waitReady(fx);
        assertJsonError(
          await exchange(fx.proxy.port, rawReq('GET', '/hang', { headers: [['X-Request-Id', 'client-id-504']], close: true })),
          504,
          'client-id-504',
        );
      },
    );

    test('a server that resets the connection gives 502 with a JSON body carrying requestId', { timeout: TEST_TIMEOUT_MS }, async () => {
      const res = await exchange(fx.proxy.port, rawReq('GET', '/reset', { close: true }));
      const id = assertJsonError(res, 502);
      await fx.proxy.waitForLog((l) => l.properties?.event === 'forward_failed' && l.properties?.requestId === id, 5000);
      await waitReady(fx);
      assertJsonError(
        await exchange(fx.proxy.port, rawReq('GET', '/reset', { headers: [['X-Request-Id', 'client-id-502']], close: true })),
        502,
        'client-id-502',
      );
    });

    test('204 and 304 carry no body and keep their headers (ETag, custom); the keep-alive connection stays in sync', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write(rawReq('GET', '/204'));
        const r204 = await conn.readResponse();
        assert.equal(r204.status, 204);
        assert.equal(header(r204, 'etag'), '"v1"');
        assert.equal(header(r204, 'x-custom'), 'kept-204');
        assert.equal(r204.headers.get('transfer-encoding'), undefined, '204 with Transfer-Encoding');
        assert.ok((r204.headers.get('content-length') ?? ['0']).every((v) => v === '0'), '204 with a non-zero Content-Length');

        await conn.write(rawReq('GET', '/304', { headers: [['If-None-Match', '"v1"']] }));
        const r304 = await conn.readResponse();
        assert.equal(r304.status, 304);
        assert.equal(header(r304, 'etag'), '"v1"');
        assert.equal(header(r304, 'x-custom'), 'kept-304');
        assert.equal(header(r304, 'cache-control'), 'max-age=60');
        assert.equal(r304.headers.get('transfer-encoding'), undefined, '304 with Transfer-Encoding');

        // Had either carried body bytes, this response would be misparsed.
        await conn.write(rawReq('GET', '/echo?after=bodiless'));
        const next = await conn.readResponse();
        assert.equal(next.status, 200, next.statusLine);
        assert.equal(jsonBody(next).url, '/echo?after=bodiless');
        assert.equal(conn.pending.length, 0, `stray bytes after the responses: ${JSON.stringify(conn.pending.toString('latin1').slice(0, 100))}`);
      } finally {
        conn.destroy();
      }
    });

    test(
      'HEAD replies carry no body and keep the Content-Length the server sent; the keep-alive connection stays in sync',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const conn = await RawConnection.open(fx.proxy.port);
        try {
          await conn.write(rawReq('HEAD', '/sized'));
          const head = await conn.readResponse({ method: 'HEAD' });
          assert.equal(head.status, 200);
          assert.deepEqual(head.headers.get('content-length'), ['1234'], JSON.stringify(head.headerLines));
          assert.equal(header(head, 'x-custom'), 'kept-head');
          await conn.write(rawReq('GET', '/sized'));
          const get = await conn.readResponse();
          assert.equal(get.status, 200, get.statusLine);
          assert.equal(get.body.length, 1234);
          assert.ok(get.complete);
          assert.equal(conn.pending.length, 0, 'stray bytes after HEAD and GET');
        } finally {
          conn.destroy();
        }
      },
    );

    test(
      "HEAD of a gzip resource keeps Content-Encoding and the server's Content-Length, as GET does",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const conn = await RawConnection.open(fx.proxy.port);
        try {
          await conn.write(rawReq('HEAD', '/gzip', { headers: [['Accept-Encoding', 'gzip']] }));
          const head = await conn.readResponse({ method: 'HEAD' });
          await conn.write(rawReq('GET', '/gzip', { headers: [['Accept-Encoding', 'gzip']] }));
          const get = await conn.readResponse();
          assert.equal(head.status, 200);
          assert.equal(get.status, 200);
          assert.equal(header(head, 'content-encoding'), header(get, 'content-encoding'), 'HEAD and GET agree on Content-Encoding');
          assert.equal(header(head, 'content-encoding'), 'gzip');
          assert.equal(header(head, 'content-length'), String(GZ.length));
          assert.equal(get.body.length, GZ.length);
        } finally {
          conn.destroy();
        }
      },
    );

    test('Expect: 100-continue: the proxy answers 100 Continue before the body, then the upload is echoed with 200', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        const body = 'hello after 100-continue';
        await conn.write(
          rawReq('POST', '/echo?expect=1', { headers: [['Expect', '100-continue'], ['Content-Length', String(body.length)], ['Content-Type', 'text/plain']] }),
        );
        // Bounded: a client (like curl) gives up waiting after about a second and sends the body anyway.
        const got100 = await conn.waitFor((b) => b.includes('\r\n\r\n'), 2000, 'an interim response').then(
          (b) => b.toString('latin1').startsWith('HTTP/1.1 100'),
          () => false,
        );
        await conn.write(body);
        const res = await conn.readResponse();
        assert.equal(res.status, 200, `${res.statusLine} ${res.body.toString().slice(0, 300)}`);
        assert.equal(jsonBody(res).body, body);
        assert.ok(got100, 'no 100 Continue within 2 s');
        assert.equal(res.interim.length, got100 ? 1 : 0);
      } finally {
        conn.destroy();
      }
    });
  });

  describe(`no healthy server [${runtime.name}]`, () => {
    let proxy: ProxyHandle | undefined;
    after(async () => {
      await proxy?.stop();
    });

    test('with no healthy server the proxy answers 503 with a JSON body carrying requestId', { timeout: TEST_TIMEOUT_MS }, async () => {
      proxy = await startProxy(runtime, { BACKEND_SERVERS: `http://127.0.0.1:${await freePort()}` });
      const p = proxy;
      await pollUntil(async () => (await request(`${p.url}/lb/ready`)).status === 503, { description: 'the refused server probed unhealthy' });
      assertJsonError(await exchange(p.port, rawReq('GET', '/x', { close: true })), 503);
      assertJsonError(await exchange(p.port, rawReq('GET', '/x', { headers: [['X-Request-Id', 'client-id-503']], close: true })), 503, 'client-id-503');
    });
  });

  describe(`MAX_REQUEST_BODY_BYTES=1000 [${runtime.name}]`, () => {
    let fx: Fixture;
    before(async () => {
      fx = await startFixture(runtime, { MAX_REQUEST_BODY_BYTES: '1000' });
      fx.backend.route('/slow-upload', () => {});
    });
    after(async () => {
      await fx?.stop();
    });
    beforeEach(async () => {
      await waitReady(fx);
    });

    test(
      'a declared Content-Length over the limit gets 413 JSON with requestId, and the server never sees the request',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const before = fx.backend.requests.length;
        const conn = await RawConnection.open(fx.proxy.port);
        try {
          await conn.write(rawReq('POST', '/echo?declared=5000', { headers: [['Content-Length', '5000'], ['Content-Type', 'application/octet-stream']] }));
          // The answer must not wait for the body: none is sent until it arrives (or 2 s pass, for runtimes that read first).
          const early = await conn.waitFor((b) => b.includes('\r\n\r\n'), 2000, 'an answer before the body').then(
            () => true,
            () => false,
          );
          if (!early) await conn.write(Buffer.alloc(5000, 0x61));
          const res = await conn.readResponse();
          assertJsonError(res, 413);
          assert.ok(early, '413 only after the body was sent');
        } finally {
          conn.destroy();
        }
        assert.deepEqual(fx.backend.requests.slice(before).map((r) => r.url), [], 'the server saw the oversized request');
        await waitNoActive(fx);
      },
    );

    test('bodies up to the limit (10 and exactly 1000 bytes) are forwarded intact, with Content-Length and chunked', { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const size of [10, 1000]) {
        const body = randomBytes(size);
        const sha256 = createHash('sha256').update(body).digest('hex');
        const a = await exchange(fx.proxy.port, rawReq('POST', `/echo?length=${size}`, { body, close: true }));
        assert.equal(a.status, 200, a.statusLine);
        assert.deepEqual([jsonBody(a).bodyLength, jsonBody(a).sha256], [size, sha256], `Content-Length ${size}: bytes the server received`);
        const chunked = Buffer.concat([chunk(body.subarray(0, size / 2)), chunk(body.subarray(size / 2)), Buffer.from(LAST_CHUNK)]);
        const b = await exchange(
          fx.proxy.port,
          rawReq('POST', `/echo?chunked=${size}`, { headers: [['Transfer-Encoding', 'chunked']], body: chunked, close: true }),
        );
        assert.equal(b.status, 200, b.statusLine);
        assert.deepEqual([jsonBody(b).bodyLength, jsonBody(b).sha256], [size, sha256], `chunked ${size}: bytes the server received`);
      }
    });

    test('a chunked body that passes the limit while streaming gets 413 and the upstream request is aborted', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write(rawReq('POST', '/slow-upload', { headers: [['Transfer-Encoding', 'chunked']] }));
        await conn.write(chunk(Buffer.alloc(600, 0x61)));
        // Bodies stream, so the first 600 bytes (under the limit) are on their way upstream before the rest is sent.
        const seen = await fx.backend.waitForRequest(
          (r) => r.pathname === '/slow-upload' && r.socketClosedAt === undefined,
          5000,
          'the streamed upload upstream',
        );
        const upstreamBody = readBody(seen.req).catch(() => undefined);
        await conn.write(chunk(Buffer.alloc(600, 0x61)));
        const res = await conn.readResponse({ timeoutMs: 5000 });
        assertJsonError(res, 413);
        // The server had the request but never answered: it must see the upstream request end unfinished.
        await withTimeout(seen.socketClosed, 5000, 'the upstream connection closing after the 413');
        assert.equal(await upstreamBody, undefined, 'the upstream request completed as if the body were whole');
      } finally {
        conn.destroy();
      }
      await waitNoActive(fx);
    });
  });

  describe(`oversized and malformed requests [${runtime.name}]`, () => {
    let fx: Fixture;
    before(async () => {
      fx = await startFixture(runtime);
    });
    after(async () => {
      await fx?.stop();
    });

    // The third field names the runtime-limits entries that describe this input. Where the runtime has one of
    // them, its documented answer is required (so the table cannot go stale); everywhere else, a refusal.
    const MALFORMED: [string, string, LimitKey[]?][] = [
      ['a 100 KB request header', `GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`],
      [
        '100 KB of request headers in 5000 lines',
        `GET /echo HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 5000 }, (_, i) => `X-Header-${String(i).padStart(5, '0')}: value`).join('\r\n')}\r\n\r\n`,
      ],
      ['a garbage request line', 'GARBAGE\r\n\r\n'],
      ['a header line without a colon', 'GET /echo HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n'],
      ['a space before the colon', 'GET /echo HTTP/1.1\r\nHost : x\r\n\r\n'],
      ['a NUL byte in a header value', 'GET /echo HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n'],
      ['a space inside the target', 'GET /sp ace HTTP/1.1\r\nHost: x\r\n\r\n', ['malformed505']],
      ['two different Content-Lengths', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
      [
        'Content-Length with Transfer-Encoding (smuggling shape)',
        'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
      ],
      ['a non-numeric Content-Length', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\nhello'],
      ['an HTTP/1.1 request without Host', 'GET /echo HTTP/1.1\r\n\r\n', ['lenientParsing']],
      ['bare LF line endings', 'GET /echo HTTP/1.1\nHost: x\n\n', ['malformed505', 'lenientParsing']],
    ];
    /** The status a documented runtime limit requires: 505 where Bun cannot split the request line, 200 where Deno forwards it. */
    const DOCUMENTED_STATUS: Partial<Record<LimitKey, number>> = { malformed505: 505, lenientParsing: 200 };

    const notes = (['lenientParsing', 'malformed505'] as const).map((k) => limit(runtime, k)).filter((n) => n !== undefined);
    test(
      `oversized and malformed requests get a 4xx or a closed connection, never a crash, and the next request is served${
        notes.length > 0 ? ` (${notes.join('; ')})` : ''
      }`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const problems: string[] = [];
        for (const [what, bytes, documented = []] of MALFORMED) {
          const before = fx.backend.requests.length;
          const outcome = await sendMalformed(fx.proxy.port, Buffer.from(bytes, 'latin1'), 5000);
          const seen = fx.backend.requests.slice(before).map((r) => r.url);
          const applies = documented.find((k) => limit(runtime, k) !== undefined);
          const refused = (outcome.kind === 'response' && outcome.res.status >= 400 && outcome.res.status < 500) || outcome.kind === 'closed';
          if (applies !== undefined) {
            const status = DOCUMENTED_STATUS[applies];
            if (outcome.kind !== 'response' || outcome.res.status !== status) {
              problems.push(`${what}: ${describeOutcome(outcome)}, but runtime-limits.ts (${applies}) says ${status}: ${limit(runtime, applies)}`);
            }
          } else if (!refused) problems.push(`${what}: ${describeOutcome(outcome)}`);
          if (seen.includes('/smuggled')) problems.push(`${what}: a smuggled request reached the server: ${JSON.stringify(seen)}`);
          const forwarded = outcome.kind === 'response' && outcome.res.status === 200;
          if (!forwarded && seen.length > 0) problems.push(`${what}: refused, yet the server saw ${JSON.stringify(seen)}`);
          // Never a crash: the process is alive and the next request is served.
          const next = await exchange(fx.proxy.port, rawReq('GET', '/echo?after-malformed=1', { close: true })).catch((e: Error) => e);
          if (next instanceof Error || next.status !== 200) {
            problems.push(`after ${what}: next request ${next instanceof Error ? next.message : next.statusLine}`);
            break;
          }
        }
        assert.deepEqual(problems, []);
        assert.equal(fx.proxy.events('listening').length, 1);
        await waitNoActive(fx);
      },
    );
  });
}
