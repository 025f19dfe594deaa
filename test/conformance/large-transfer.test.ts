/**
 * Conformance: 1 GiB through the proxy each way on every runtime, byte count and sha256 checked end to end
 * (the stream's blocks are numbered, so loss, duplication or reordering changes the hash). About 7 s per
 * runtime on a 2-core machine, so it runs by default; FAIRWAY_LARGE_BYTES sets another size (whole MiB).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { download, expectedSha256, GIB, sinkHandler, sourceHandler, upload } from '../support/bulk.ts';
import { TEST_TIMEOUT_MS } from '../support/poll.ts';
import { RawConnection } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { type Fixture, rawReq, startFixture, waitNoActive, waitReady } from './fixture.ts';

const BYTES = Number(process.env.FAIRWAY_LARGE_BYTES ?? GIB);
const TIMEOUT_MS = 180_000;

for (const runtime of selectedRuntimes()) {
  describe(`1 GiB transfers [${runtime.name}]`, () => {
    let fx: Fixture;
    let want: string;
    before(async () => {
      // Hashing the reference stream blocks this event loop (which the backend shares) for about a second: do it first.
      want = expectedSha256(BYTES);
      // Patient probes: the backend shares a loop that is busy moving and hashing a gigabyte.
      fx = await startFixture(runtime, { UPSTREAM_TIMEOUT_MS: '60000', HEALTH_CHECK_INTERVAL_MS: '1000', HEALTH_CHECK_TIMEOUT_MS: '30000' });
      fx.backend.route('/sink', sinkHandler);
      fx.backend.route('/source', sourceHandler);
      fx.backend.route('/declared', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '12', connection: 'close' });
        res.end('request seen');
      });
    });
    after(async () => {
      await fx?.stop();
    });
    beforeEach(async () => {
      await waitReady(fx);
    });

    test('with MAX_REQUEST_BODY_BYTES unset, a declared 1 GiB body is forwarded, not refused by the runtime', { timeout: TEST_TIMEOUT_MS }, async () => {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        // The server answers as soon as it has the request, without reading the body. A runtime that refuses
        // the declared length answers at once, from the headers alone; give it a second before sending body bytes
        // (some runtimes only start the upstream request once body bytes arrive).
        await conn.write(rawReq('PUT', '/declared', { headers: [['Content-Length', String(GIB)]] }));
        const answeredEarly = await conn.waitFor((b) => b.includes('\r\n\r\n'), 1000, 'an answer to the headers alone').then(
          () => true,
          () => false,
        );
        if (!answeredEarly) await conn.write(Buffer.alloc(64 * 1024, 0x61));
        const res = await conn.readResponse({ timeoutMs: 10_000 });
        assert.equal(
          res.status,
          200,
          `refused before reaching the server: ${res.statusLine} ${JSON.stringify(res.headerLines)} ${res.body.toString().slice(0, 200)}`,
        );
        assert.equal(res.body.toString(), 'request seen');
      } finally {
        conn.destroy();
      }
      await waitNoActive(fx);
    });

    test(`a ${BYTES / GIB} GiB upload reaches the server complete (byte count and sha256)`, { timeout: TIMEOUT_MS }, async (t) => {
      const started = Date.now();
      const res = await upload(`${fx.proxy.url}/sink`, BYTES, TIMEOUT_MS - 10_000);
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      assert.deepEqual(res.body, { bytes: BYTES, sha256: want });
      t.diagnostic(`${runtime.name} upload: ${(BYTES / 2 ** 20 / ((Date.now() - started) / 1000)).toFixed(0)} MiB/s`);
      await waitNoActive(fx);
    });

    test(`a ${BYTES / GIB} GiB download reaches the client complete (byte count and sha256)`, { timeout: TIMEOUT_MS }, async (t) => {
      const started = Date.now();
      const res = await download(`${fx.proxy.url}/source?bytes=${BYTES}`, TIMEOUT_MS - 10_000);
      assert.equal(res.status, 200);
      assert.equal(res.bytes, BYTES);
      if (res.declared !== undefined) assert.equal(res.declared, BYTES);
      assert.equal(res.sha256, want);
      t.diagnostic(`${runtime.name} download: ${(BYTES / 2 ** 20 / ((Date.now() - started) / 1000)).toFixed(0)} MiB/s`);
      await waitNoActive(fx);
    });
  });
}
