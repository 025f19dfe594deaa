/**
 * Conformance (issue 8): raw-socket probes for whose fault a failure is. No client input ejects a healthy
 * server; Host never changes the upstream path; 1xx, 204 and 304 reach the client framed right; odd statuses
 * and request lines are refused; and each idle limit closes its connection with in-flight back to 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getStats } from '../support/http.ts';
import { TEST_TIMEOUT_MS } from '../support/poll.ts';
import { header, NoResponseError, RawConnection, sendMalformed } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { readBody } from '../support/scripted-backend.ts';
import { type Fixture, rawReq, startFixture, waitNoActive, waitReady } from './fixture.ts';
import { limit } from './runtime-limits.ts';

/** Short limits keep each check fast; Bun rounds the connection limits up to whole seconds. */
const LIMIT_MS = 600;
const LIMITS = {
  CLIENT_HEADER_TIMEOUT_MS: String(LIMIT_MS),
  CLIENT_KEEPALIVE_TIMEOUT_MS: String(LIMIT_MS),
  CLIENT_BODY_TIMEOUT_MS: String(LIMIT_MS),
  UPSTREAM_READ_TIMEOUT_MS: String(LIMIT_MS),
  UPSTREAM_TIMEOUT_MS: '5000',
  // One failure against the server would show until the next probe: probes are rare here, so it stays visible.
  HEALTH_CHECK_INTERVAL_MS: '60000',
  MAX_REQUEST_BODY_BYTES: '1000',
};
/** Longer than any limit above as each runtime applies it (Bun: 1 s), with room for a busy machine. */
const CLOSE_WITHIN_MS = 5000;

/** What the proxy did with `bytes` on a fresh connection: its status, or that it closed without one. */
async function outcome(fx: Fixture, bytes: string | Buffer, timeoutMs = 5000): Promise<number | 'closed'> {
  const conn = await RawConnection.open(fx.proxy.port);
  try {
    await conn.write(bytes);
    return (await conn.readResponse({ timeoutMs })).status;
  } catch (e) {
    if (e instanceof NoResponseError) return 'closed';
    throw e;
  } finally {
    conn.destroy();
  }
}

for (const runtime of selectedRuntimes()) {
  describe(`hardening: whose fault a failure is [${runtime.name}]`, () => {
    let fx: Fixture;
    before(async () => {
      fx = await startFixture(runtime, LIMITS);
      fx.backend.route('/upload', (req, res) => {
        readBody(req).then(
          (body) =>
            res.writeHead(200, { 'content-type': 'text/plain' }).end(`got ${body.length} bytes, content-length ${req.headers['content-length'] ?? 'none'}`),
          () => res.destroy(),
        );
      });
      fx.backend.route('/304-sized', (req) => {
        req.resume();
        req.socket.end('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 1234\r\nConnection: close\r\n\r\n');
      });
      fx.backend.route('/204-sized', (req) => {
        req.resume();
        req.socket.end('HTTP/1.1 204 No Content\r\nX-Kept: yes\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      });
      fx.backend.route('/head-unsized', (req) => {
        req.resume();
        req.socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n');
      });
      fx.backend.route('/quiet', (req, res) => {
        req.resume();
        // Longer than RESPONSE_BUFFER_BYTES, so it streams: the read limit is about a response already under way.
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
        res.write('first part');
      });
    });
    after(async () => {
      await fx?.stop();
    });

    test('no client input of any kind ejects a healthy server: after the probes, unrelated requests still get 200', { timeout: TEST_TIMEOUT_MS }, async () => {
      const probes: [string, Buffer][] = [
        ['Content-Length: 5 twice', Buffer.from('POST /upload HTTP/1.1\r\nHost: conformance.test\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello')],
        ['Content-Length: 5, 5', Buffer.from('POST /upload HTTP/1.1\r\nHost: conformance.test\r\nContent-Length: 5, 5\r\n\r\nhello')],
        ['a lower-case trace', Buffer.from('trace / HTTP/1.1\r\nHost: conformance.test\r\n\r\n')],
        ['an invalid Host', rawReq('GET', '/', { host: 'a/b?' })],
        ['a GET with a body', rawReq('GET', '/upload', { body: 'hello' })],
      ];
      for (const [name, bytes] of probes) {
        const got = await outcome(fx, bytes);
        assert.ok(got === 'closed' || (got >= 200 && got < 500) || got === 501 || got === 505, `${name}: ${got}`);
      }
      // Two slow uploads that stop mid-body: the client's fault (408 or a close), not the server's.
      const slow = await Promise.all([0, 1].map(() => outcome(fx, rawReq('POST', '/upload', { headers: [['Content-Length', '100']], body: 'only ten b' }))));
      for (const got of slow) assert.ok(got === 408 || got === 'closed', `slow upload: ${got}`);
      for (let i = 0; i < 5; i++) assert.equal(await outcome(fx, rawReq('GET', '/', { close: true })), 200, `unrelated request ${i + 1}`);
      const stats = await getStats(fx.proxy.url);
      assert.equal(stats.servers[0]!.healthy, true);
      assert.equal(stats.servers[0]!.errors, 0, 'nothing the client did counts against the server');
      await waitNoActive(fx);
    });

    test('a slow upload within CLIENT_BODY_TIMEOUT_MS is not timed out by UPSTREAM_TIMEOUT_MS, and arrives whole', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write('POST /upload HTTP/1.1\r\nHost: conformance.test\r\nContent-Length: 6\r\n\r\n');
        for (const part of ['ab', 'cd', 'ef']) {
          await new Promise((resolve) => setTimeout(resolve, LIMIT_MS / 3));
          await conn.write(part);
        }
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        assert.match(res.body.toString(), /^got 6 bytes/);
      } finally {
        conn.destroy();
      }
    });

    test('Host versus path: the upstream path comes from the request target alone, and an invalid Host gets 400', { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const host of ['x/admin/secret?', 'a@b', '', 'a b']) {
        const got = await outcome(fx, rawReq('GET', '/public', { host }));
        assert.ok(got === 400 || got === 'closed', `Host ${JSON.stringify(host)}: ${got}`);
      }
      const two = await outcome(fx, Buffer.from('GET /public HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n'));
      assert.ok(two === 400 || two === 'closed', `two Host headers: ${two}`);
      assert.equal(fx.backend.requests.filter((r) => r.pathname !== '/public' && r.pathname.includes('admin')).length, 0, 'a Host changed the path');
      assert.equal(fx.backend.requestsTo('/public').length, 0, 'a request with an invalid Host reached the server');
    });

    test('204 and 304: a 304 keeps its Content-Length, a 204 has none; neither has a body', { timeout: TEST_TIMEOUT_MS }, async () => {
      const c304 = await RawConnection.open(fx.proxy.port);
      try {
        await c304.write(rawReq('GET', '/304-sized'));
        const head = await c304.readHead();
        assert.equal(head.status, 304);
        assert.equal(head.headers.get('etag')?.[0], '"v1"');
        const dropped = limit(runtime, 'drops304Length');
        assert.equal(
          head.headers.get('content-length')?.[0],
          dropped === undefined ? '1234' : undefined,
          dropped ?? 'RFC 9110 §8.6: a 304 may say the length of the selected representation',
        );
        await c304.write(rawReq('GET', '/'));
        const next = await c304.readResponse();
        assert.equal(next.status, 200, 'no body bytes after the 304: the next response is read in sync');
      } finally {
        c304.destroy();
      }
      const c204 = await RawConnection.open(fx.proxy.port);
      try {
        await c204.write(rawReq('GET', '/204-sized'));
        const res = await c204.readResponse({ timeoutMs: 5000 });
        assert.equal(res.status, 204);
        assert.equal(header(res, 'x-kept'), 'yes');
        assert.equal(header(res, 'content-length'), undefined, 'RFC 9110 §8.6: a 204 must not carry Content-Length');
      } finally {
        c204.destroy();
      }
      await waitNoActive(fx);
    });

    test(
      'UPSTREAM_READ_TIMEOUT_MS: a server that goes quiet mid-body has the client connection cut; in-flight back to 0',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const conn = await RawConnection.open(fx.proxy.port);
        try {
          await conn.write(rawReq('GET', '/quiet'));
          const head = await conn.readHead();
          assert.equal(head.status, 200);
          assert.ok(await conn.waitClose(CLOSE_WITHIN_MS), 'the connection was not closed');
          assert.ok(conn.pending.length < 100, 'the truncated body was never presented as complete');
        } finally {
          conn.destroy();
        }
        await waitNoActive(fx);
      },
    );

    test('CLIENT_BODY_TIMEOUT_MS: an upload that stops gets 408 or a close; in-flight back to 0', { timeout: TEST_TIMEOUT_MS }, async () => {
      const got = await outcome(fx, rawReq('POST', '/upload', { headers: [['Content-Length', '100']], body: 'ten bytes!' }), CLOSE_WITHIN_MS);
      assert.ok(got === 408 || got === 'closed', `got ${got}`);
      await waitNoActive(fx);
    });

    test('CLIENT_KEEPALIVE_TIMEOUT_MS: an idle keep-alive connection is closed', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write(rawReq('GET', '/'));
        assert.equal((await conn.readResponse()).status, 200);
        const closed = await conn.waitClose(CLOSE_WITHIN_MS);
        const reason = limit(runtime, 'noClientConnectionLimits');
        if (reason !== undefined) assert.equal(closed, false, `documented as a runtime limit, but the runtime closed the connection: ${reason}`);
        else assert.ok(closed, 'the idle connection was not closed');
      } finally {
        conn.destroy();
      }
      await waitNoActive(fx);
    });

    test('CLIENT_HEADER_TIMEOUT_MS: a request head that never completes has its connection closed', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write('GET / HTTP/1.1\r\nHost: conformance.test\r\nX-Slow: ');
        const closed = await conn.waitClose(CLOSE_WITHIN_MS);
        const reason = limit(runtime, 'noClientConnectionLimits');
        if (reason !== undefined) assert.equal(closed, false, `documented as a runtime limit, but the runtime closed the connection: ${reason}`);
        else assert.ok(closed, 'the connection with an unfinished head was not closed');
      } finally {
        conn.destroy();
      }
    });

    test('request lines for HTTP/0.9, with no version, or HTTP/2.0 are refused, never forwarded as HTTP/1.1', { timeout: TEST_TIMEOUT_MS }, async () => {
      const before = fx.backend.requestsTo('/old').length;
      for (const line of ['GET /old HTTP/2.0\r\nHost: conformance.test\r\n\r\n', 'GET /old HTTP/0.9\r\n\r\n', 'GET /old\r\n\r\n']) {
        const got = await sendMalformed(fx.proxy.port, line);
        if (got.kind === 'response') assert.ok(got.res.status === 400 || got.res.status === 505, `${JSON.stringify(line)}: ${got.res.statusLine}`);
      }
      assert.equal(fx.backend.requestsTo('/old').length, before, 'an old or new HTTP version was forwarded');
    });

    test(
      "a GET with a body: forwarded with its body, or 501 where the runtime's upstream client cannot send one; never dropped",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const got = await outcome(fx, rawReq('GET', '/upload', { body: 'hello' }));
        const reason = limit(runtime, 'getBody501');
        if (reason !== undefined) assert.equal(got, 501, reason);
        else {
          assert.equal(got, 200);
          assert.match(fx.backend.requestsTo('/upload').at(-1)!.headers['content-length'] ?? '', /^5$/);
        }
      },
    );

    test('a HEAD response that had no Content-Length gets none added', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write(rawReq('HEAD', '/head-unsized'));
        const head = await conn.readHead();
        assert.equal(head.status, 200);
        const added = limit(runtime, 'headContentLength');
        assert.equal(head.headers.get('content-length')?.[0], added === undefined ? undefined : '0', added ?? 'no content-length: 0 on a HEAD response');
      } finally {
        conn.destroy();
      }
    });

    test('Expect: 100-continue with a declared body over MAX_REQUEST_BODY_BYTES gets 413 and no 100 Continue', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write('POST /upload HTTP/1.1\r\nHost: conformance.test\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n');
        const head = await conn.readHead();
        const first = limit(runtime, 'expectContinueFirst');
        assert.equal(head.status, first === undefined ? 413 : 100, first ?? `first answer: ${head.statusLine}`);
      } finally {
        conn.destroy();
      }
    });

    test("a very long URL gets 414, or the runtime's own refusal before any handler runs", { timeout: TEST_TIMEOUT_MS }, async () => {
      const got = await outcome(fx, rawReq('GET', `/${'a'.repeat(200_000)}`));
      const own = limit(runtime, 'longUrl');
      // The runtime-limit text names the status the runtime answers itself.
      assert.equal(got, own === undefined ? 414 : Number(/answers (\d{3})/.exec(own)![1]), own ?? 'a long URL gets 414');
    });

    test('a body with a declared Content-Length arrives upstream with that length, not chunked', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write(rawReq('POST', '/upload', { body: 'declared body' }));
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'got 13 bytes, content-length 13');
      } finally {
        conn.destroy();
      }
    });
  });
}

for (const runtime of selectedRuntimes()) {
  describe(`hardening: servers that misbehave [${runtime.name}]`, () => {
    let fx: Fixture;
    before(async () => {
      fx = await startFixture(runtime);
      fx.backend.route('/continue-then-200', (req, res) => {
        req.resume();
        // An interim response nobody asked for (RFC 9110 §15.2: clients must tolerate it).
        res.writeContinue();
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('final answer'), 20);
      });
      fx.backend.route('/999', (req) => {
        req.resume();
        req.socket.end('HTTP/1.1 999 Odd\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
      });
    });
    after(async () => {
      await fx?.stop();
    });

    test('1xx: an unsolicited 100 Continue before the real response is skipped', { timeout: TEST_TIMEOUT_MS }, async () => {
      await waitReady(fx);
      const got = await outcome(fx, rawReq('GET', '/continue-then-200'));
      const reason = limit(runtime, 'unsolicited100');
      assert.equal(got, reason === undefined ? 200 : 502, reason ?? 'an unsolicited 100 Continue is skipped');
      await waitNoActive(fx);
    });

    test('a status outside 100 to 599 from the server is answered 502', { timeout: TEST_TIMEOUT_MS }, async () => {
      await waitReady(fx);
      assert.equal(await outcome(fx, rawReq('GET', '/999')), 502);
      await waitNoActive(fx);
    });
  });
}
