/**
 * Conformance: bodies stream through with back-pressure in both directions, server-sent events arrive event
 * by event, a quiet stream outlives Bun's 10 s default idle timeout, and either side going away mid-body
 * is passed on as a closed connection: never a truncated body presented as complete, never a leaked
 * upstream connection or in-flight count.
 *
 * Ordering is proved by causality, not timing: the test itself writes each next piece only after the
 * other side has seen the previous one.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pollUntil, TEST_TIMEOUT_MS, withTimeout } from '../support/poll.ts';
import { chunk, LAST_CHUNK, NoResponseError, RawConnection, type WireResponse } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import type { SeenRequest } from '../support/scripted-backend.ts';
import { getStats } from '../support/http.ts';
import { type Fixture, rawReq, startFixture, waitNoActive, waitReady } from './fixture.ts';
import { limit } from './runtime-limits.ts';

/** Bun.serve closes connections idle this long unless told otherwise. */
const BUN_DEFAULT_IDLE_TIMEOUT_MS = 10_000;

/** Collects a request body as it arrives, so a test can wait for a given prefix. */
function collect(req: http.IncomingMessage): { text: () => string; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    req.on('end', resolve);
    req.on('error', reject);
  });
  ended.catch(() => {});
  return { text: () => Buffer.concat(chunks).toString('latin1'), ended };
}

const until = async (cond: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
};

for (const runtime of selectedRuntimes()) {
  describe(`streaming [${runtime.name}]`, () => {
    let fx: Fixture;

    before(async () => {
      // Streaming is what this suite pins: request bodies are not kept for a retry (RETRY_BUFFER_BYTES=0), and
      // responses are never read whole first (RESPONSE_BUFFER_BYTES=0).
      fx = await startFixture(runtime, { RETRY_BUFFER_BYTES: '0', RESPONSE_BUFFER_BYTES: '0' });
      // Scripted paths do nothing by themselves: each test drives the server's side through SeenRequest.
      for (const path of ['/upload', '/download', '/events', '/idle', '/hold-upload', '/hold-download']) fx.backend.route(path, () => {});
      fx.backend.route('/truncated-length', (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' });
        res.write(Buffer.alloc(10, 0x61), () => res.socket?.destroy());
      });
      fx.backend.route('/truncated-chunked', (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(Buffer.alloc(10, 0x62), () => res.socket?.destroy());
      });
    });

    after(async () => {
      await fx?.stop();
    });

    // A failure in one test (say, a passive health failure) must not turn the next one into a 503.
    beforeEach(async () => {
      await waitReady(fx);
    });

    /** A client leaving is not a server failure: no error counted, no forward_failed, the server stays in rotation. */
    async function assertNotBlamedOnServer(errorsBefore: number, logsBefore: number, what: string) {
      const stats = await getStats(fx.proxy.url);
      const blamed = fx.proxy.logs.slice(logsBefore).filter((l) => ['forward_failed', 'server_unhealthy'].includes(String(l.properties?.event)));
      assert.deepEqual(
        blamed.map((l) => l.message),
        [],
        `${what}: the client leaving was logged as a server failure`,
      );
      assert.equal(stats.totals.errors, errorsBefore, `${what}: the client leaving was counted as an error`);
    }

    const serverSide = (path: string, timeoutMs = 5000): Promise<SeenRequest> =>
      fx.backend.waitForRequest(
        (r) => r.pathname === path && !r.res.headersSent && r.socketClosedAt === undefined && !claimed.has(r),
        timeoutMs,
        `a request to ${path}`,
      ).then((r) => {
        claimed.add(r);
        return r;
      });
    const claimed = new Set<SeenRequest>();

    for (const framing of ['chunked', 'content-length'] as const) {
      test(`upload (${framing}): the server sees the first part of the body before the client sends the last`, { timeout: TEST_TIMEOUT_MS }, async () => {
        const conn = await RawConnection.open(fx.proxy.port);
        try {
          const parts = ['part-one;', 'part-two;', 'part-three'];
          const total = parts.join('').length;
          await conn.write(
            rawReq('POST', `/upload?framing=${framing}`, {
              headers: [framing === 'chunked' ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(total)], ['Content-Type', 'text/plain']],
            }),
          );
          const enc = (p: string) => (framing === 'chunked' ? chunk(p) : Buffer.from(p));
          await conn.write(enc(parts[0]!));
          const seen = await serverSide('/upload');
          const body = collect(seen.req);
          let sent = parts[0]!;
          for (const part of parts.slice(1)) {
            await until(
              () => body.text() === sent,
              5000,
              `server received ${JSON.stringify(sent)} (has ${JSON.stringify(body.text())}) before the client sent more`,
            );
            await conn.write(enc(part));
            sent += part;
          }
          if (framing === 'chunked') await conn.write(LAST_CHUNK);
          await withTimeout(body.ended, 5000, 'end of the request body at the server');
          assert.equal(body.text(), sent);
          seen.res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) });
          seen.res.end(body.text());
          const res = await conn.readResponse();
          assert.equal(res.status, 200);
          assert.equal(res.body.toString(), sent);
        } finally {
          conn.destroy();
        }
      });
    }

    test('download: the client sees the first part of the body before the server sends the last', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write(rawReq('GET', '/download'));
        const seen = await serverSide('/download');
        seen.res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const parts = ['first-part\n', 'second-part\n', 'last-part\n'];
        for (const [i, part] of parts.entries()) {
          seen.res.write(part);
          // The next part is written only once the client has this one.
          await conn.waitFor((b) => b.includes(part), 5000, `part ${i + 1} at the client before part ${i + 2} is sent`);
        }
        seen.res.end();
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        assert.ok(res.complete, `${res.framing} body incomplete`);
        assert.equal(res.body.toString(), parts.join(''));
      } finally {
        conn.destroy();
      }
    });

    const headWaits = limit(runtime, 'headersWaitForBody');
    test(
      headWaits
        ? `response headers the server has sent reach the client only with the first body bytes (${headWaits})`
        : 'response headers reach the client as soon as the server sends them, before any body byte',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const conn = await RawConnection.open(fx.proxy.port);
        try {
          await conn.write(rawReq('GET', '/events?head-only=1'));
          const seen = await serverSide('/events');
          seen.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          seen.res.flushHeaders();
          if (headWaits) {
            // Documented: nothing complete arrives until the body starts; then head and body come together.
            await assert.rejects(conn.readHead(1000), NoResponseError);
            seen.res.write('data: now\n\n');
          }
          const head = await conn.readHead(5000);
          assert.equal(head.status, 200);
          seen.res.end();
        } finally {
          conn.destroy();
        }
      },
    );

    test('server-sent events reach the client one by one, each before the server sends the next', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write(rawReq('GET', '/events', { headers: [['Accept', 'text/event-stream']] }));
        const seen = await serverSide('/events');
        seen.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        const event = (i: number) => `id: ${i}\nevent: tick\ndata: event number ${i}\n\n`;
        seen.res.write(event(1));
        const head = await conn.readHead(5000);
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-type')?.[0], 'text/event-stream');
        assert.equal(head.headers.get('content-length'), undefined, 'an event stream has no Content-Length');
        for (let i = 1; i <= 5; i++) {
          if (i > 1) seen.res.write(event(i));
          await conn.waitFor(
            (b) => b.toString('latin1').includes(`data: event number ${i}\n\n`),
            5000,
            `event ${i} at the client before event ${i + 1} is sent`,
          );
        }
        seen.res.end();
      } finally {
        conn.destroy();
      }
    });

    test(`a stream idle in both directions for longer than Bun's ${BUN_DEFAULT_IDLE_TIMEOUT_MS / 1000} s default idle timeout is not cut`, {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write(rawReq('POST', '/idle', { headers: [['Transfer-Encoding', 'chunked']] }));
        await conn.write(chunk('before-'));
        const seen = await serverSide('/idle');
        const body = collect(seen.req);
        await until(() => body.text() === 'before-', 5000, 'first upload chunk at the server');
        seen.res.writeHead(200, { 'content-type': 'text/plain' });
        seen.res.write('first;');
        await conn.waitFor((b) => b.includes('first;'), 5000, 'first response chunk at the client');
        // The point of this test is the quiet period itself, so this wait is deliberate, not synchronisation.
        await sleep(BUN_DEFAULT_IDLE_TIMEOUT_MS + 1000);
        assert.ok(!conn.closed, 'the proxy closed the client connection while the stream was idle');
        assert.equal(seen.socketClosedAt, undefined, 'the proxy closed the upstream connection while the stream was idle');
        await conn.write(chunk('after'));
        await conn.write(LAST_CHUNK);
        await withTimeout(body.ended, 5000, 'end of the upload after the idle period');
        assert.equal(body.text(), 'before-after');
        seen.res.end('last');
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        assert.ok(res.complete);
        assert.equal(res.body.toString(), 'first;last');
      } finally {
        conn.destroy();
      }
    });

    test('a client that goes away mid-upload: the server sees its connection close promptly, nothing stays in flight, and the server is not blamed', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const errorsBefore = (await getStats(fx.proxy.url)).totals.errors;
      const logsBefore = fx.proxy.logs.length;
      const conn = await RawConnection.open(fx.proxy.port);
      await conn.write(rawReq('POST', '/hold-upload', { headers: [['Content-Length', '1000000'], ['Content-Type', 'application/octet-stream']] }));
      await conn.write(Buffer.alloc(1000, 0x61));
      const seen = await serverSide('/hold-upload');
      const body = collect(seen.req);
      await until(() => body.text().length > 0, 5000, 'first upload bytes at the server');
      conn.destroy();
      await withTimeout(seen.socketClosed, 5000, 'the upstream connection closing after the client went away mid-upload');
      await waitNoActive(fx);
      await assertNotBlamedOnServer(errorsBefore, logsBefore, 'mid-upload');
    });

    test('a client that goes away mid-response: the server sees its connection close promptly, nothing stays in flight, and the server is not blamed', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const errorsBefore = (await getStats(fx.proxy.url)).totals.errors;
      const logsBefore = fx.proxy.logs.length;
      const conn = await RawConnection.open(fx.proxy.port);
      await conn.write(rawReq('GET', '/hold-download'));
      const seen = await serverSide('/hold-download');
      seen.res.writeHead(200, { 'content-type': 'application/octet-stream' });
      seen.res.write('first-part');
      await conn.waitFor((b) => b.includes('first-part'), 5000, 'first response bytes at the client');
      conn.destroy();
      await withTimeout(seen.socketClosed, 5000, 'the upstream connection closing after the client went away mid-response');
      await waitNoActive(fx);
      await assertNotBlamedOnServer(errorsBefore, logsBefore, 'mid-response');
    });

    for (
      const [path, what] of [
        ['/truncated-length', 'Content-Length: 1000 and 10 bytes'],
        ['/truncated-chunked', 'a chunked body without its last chunk'],
      ] as const
    ) {
      test(`a server that goes away mid-response (${what}): the client's connection closes without a complete body`, { timeout: TEST_TIMEOUT_MS }, async () => {
        const errorsBefore = (await getStats(fx.proxy.url)).totals.errors;
        const conn = await RawConnection.open(fx.proxy.port);
        try {
          await conn.write(rawReq('GET', path));
          let res: WireResponse | undefined;
          try {
            res = await conn.readResponse({ timeoutMs: 10_000 });
          } catch (e) {
            if (!(e instanceof NoResponseError && conn.closed)) throw e;
            // Closed before any response: nothing presented as complete. Only a runtime that holds the head back
            // until the body flows may end up here; elsewhere the head was on its way and must arrive.
            assert.ok(limit(runtime, 'headersWaitForBody'), `${runtime.name} closed the connection without the response head the server had sent`);
          }
          if (res?.status === 200) {
            assert.equal(
              res.complete,
              false,
              `a truncated body was presented as complete (${res.framing}, ${res.body.length} bytes): ${JSON.stringify(res.headerLines)}`,
            );
            if (res.framing === 'content-length') assert.ok(res.body.length < 1000, `${res.body.length} of ${res.declaredLength} bytes`);
            assert.ok(conn.closed, 'connection closed');
          } else if (res) {
            // The head had not gone out yet, so the proxy answered for the server: a whole 502 (a server that
            // resets the connection), counted against the server.
            assert.equal(res.status, 502, `${res.statusLine} ${res.body.toString().slice(0, 200)}`);
            assert.equal(res.complete, true, `the 502 itself was cut short (${res.framing}, ${res.body.length} bytes)`);
            await pollUntil(async () => (await getStats(fx.proxy.url)).totals.errors === errorsBefore + 1, {
              description: `the 502 counted as one error against the server (errors before: ${errorsBefore})`,
            });
          }
        } finally {
          conn.destroy();
        }
        await waitNoActive(fx);
      });
    }
  });
}
