/** /lb/stats, /lb/health, /lb/ready and exact in-flight accounting. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Backend, backendServers, closeBackends, startBackends } from '../support/backends.ts';
import { getStats, request, type Stats, waitForIdle } from '../support/http.ts';
import { pollUntil, TEST_TIMEOUT_MS } from '../support/poll.ts';
import { type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';

const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

function assertLatency(rt: Stats['servers'][number]['responseTimeMs'] | null): void {
  assert.ok(rt && typeof rt === 'object', `responseTimeMs = ${JSON.stringify(rt)}`);
  for (const k of ['avg', 'p50', 'p95', 'p99'] as const) {
    assert.ok(isNum(rt[k]) && rt[k] >= 0, `responseTimeMs.${k} = ${rt[k]}`);
  }
  assert.ok(rt.p50 <= rt.p95 && rt.p95 <= rt.p99, `percentiles ordered: ${JSON.stringify(rt)}`);
}

/** Requests totals and per-server counts as they are now, so assertions are about deltas. */
function counts(stats: Stats) {
  return {
    requests: stats.totals.requests,
    errors: stats.totals.errors,
    perServer: new Map(stats.servers.map((s) => [s.url, { requests: s.requests, errors: s.errors }])),
  };
}

/** Starts a GET and destroys the client socket once the first body chunk arrived and `beforeAbort` resolved. */
function abortAfterFirstChunk(url: string, beforeAbort: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no first body chunk within 10 s from ${url}`));
    }, 10_000);
    const req = http.get(url, { agent: false }, (res) => {
      res.once('data', () => {
        beforeAbort().then(
          () => {
            clearTimeout(timer);
            req.destroy();
            resolve();
          },
          (e) => {
            clearTimeout(timer);
            req.destroy();
            reject(e);
          },
        );
      });
    });
    req.on('error', () => {
      /* expected after destroy */
    });
  });
}

for (const runtime of selectedRuntimes()) {
  describe(`stats and accounting [${runtime.name}]`, () => {
    let backends: Backend[] = [];
    let proxy: ProxyHandle;

    before(async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }]);
      proxy = await startProxy(runtime, { ALGORITHM: 'round_robin', BACKEND_SERVERS: backendServers(backends) });
      await pollUntil(async () => (await getStats(proxy.url)).servers.every((s) => s.lastHealthCheck !== null), {
        description: 'first health probe of every server',
      });
    });

    after(async () => {
      await proxy?.stop();
      await closeBackends(backends);
    });

    test('/lb/health is 200 and /lb/ready reports the healthy servers', { timeout: TEST_TIMEOUT_MS }, async () => {
      const health = await request(`${proxy.url}/lb/health`);
      assert.equal(health.status, 200);
      const ready = await request(`${proxy.url}/lb/ready`);
      assert.equal(ready.status, 200);
      assert.match(String(ready.headers['content-type']), /application\/json/);
      assert.deepEqual(ready.json(), { status: 'ready', healthyServers: 2 });
    });

    test('/lb/stats has the documented shape', { timeout: TEST_TIMEOUT_MS }, async () => {
      const res = await request(`${proxy.url}/lb/stats`);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      const stats = res.json<Stats>();
      assert.equal(stats.algorithm, 'round_robin');
      assert.ok(isNum(stats.uptimeSeconds) && stats.uptimeSeconds >= 0, `uptimeSeconds ${stats.uptimeSeconds}`);
      for (const k of ['requests', 'errors', 'errorRate', 'activeConnections'] as const) {
        assert.ok(isNum(stats.totals[k]), `totals.${k} = ${stats.totals[k]}`);
      }
      assert.equal(stats.servers.length, 2);
      assert.deepEqual(
        stats.servers.map((s) => s.url),
        backends.map((b) => b.url),
      );
      for (const s of stats.servers) {
        assert.equal(s.weight, 1);
        assert.equal(s.healthy, true);
        for (const k of ['activeConnections', 'requests', 'errors', 'errorRate'] as const) assert.ok(isNum(s[k]), `${k} = ${s[k]}`);
        // null (no samples yet) or the latency summary.
        if (s.responseTimeMs !== null || s.requests > 0) assertLatency(s.responseTimeMs);
        const hc = s.lastHealthCheck;
        assert.ok(hc, 'lastHealthCheck present after the first probe');
        assert.equal(typeof hc.at, 'string');
        assert.ok(!Number.isNaN(Date.parse(hc.at)), `lastHealthCheck.at ${hc.at}`);
        assert.equal(new Date(hc.at).toISOString(), hc.at, 'ISO 8601 (toISOString) format');
        assert.equal(hc.ok, true);
        assert.equal(hc.status, 200);
        assert.ok(isNum(hc.ms) && hc.ms >= 0);
      }
      const later = await getStats(proxy.url);
      assert.ok(later.uptimeSeconds >= stats.uptimeSeconds, 'uptime does not go backwards');
    });

    test('requests and errors are counted per server (5xx = error, 4xx = not), in-flight back to 0', { timeout: TEST_TIMEOUT_MS }, async () => {
      await waitForIdle(proxy.url);
      const before = counts(await getStats(proxy.url));
      const paths = ['/ok', '/ok', '/status/500', '/status/503', '/status/404', '/ok', '/status/201', '/ok'];
      const statuses: number[] = [];
      for (const path of paths) statuses.push((await request(proxy.url + path)).status);
      assert.deepEqual(statuses, [200, 200, 500, 503, 404, 200, 201, 200]);
      const stats = await waitForIdle(proxy.url);
      const after = counts(stats);
      assert.equal(after.requests - before.requests, 8, 'totals.requests delta (admin endpoints and probes not counted)');
      assert.equal(after.errors - before.errors, 2, 'totals.errors delta');
      // Round robin: 4 each; '/status/500' and '/status/503' went to different servers.
      for (const b of backends) {
        const d = after.perServer.get(b.url)!.requests - before.perServer.get(b.url)!.requests;
        const e = after.perServer.get(b.url)!.errors - before.perServer.get(b.url)!.errors;
        assert.equal(d, 4, `${b.name} requests delta`);
        assert.equal(e, 1, `${b.name} errors delta`);
      }
      assert.ok(Math.abs(stats.totals.errorRate - stats.totals.errors / stats.totals.requests) < 1e-9, 'totals.errorRate');
      for (const s of stats.servers) {
        assert.ok(Math.abs(s.errorRate - (s.requests ? s.errors / s.requests : 0)) < 1e-9, `${s.url} errorRate`);
        assert.equal(s.healthy, true, 'a 5xx answer does not mark a server unhealthy');
        assertLatency(s.responseTimeMs);
      }
      assert.equal(
        stats.servers.reduce((n, s) => n + s.requests, 0),
        stats.totals.requests,
      );
    });

    test('activeConnections returns to 0 after a concurrent burst with errors', { timeout: TEST_TIMEOUT_MS }, async () => {
      const paths = ['/ok', '/status/500', '/stream?chunks=5&interval=5&size=64', '/slow?ms=50', '/echo'];
      const jobs = Array.from(
        { length: 30 },
        (_, i) => request(proxy.url + paths[i % paths.length], { method: i % 2 ? 'POST' : 'GET', body: i % 2 ? 'x'.repeat(1000) : undefined }),
      );
      const results = await Promise.all(jobs);
      for (const r of results) assert.ok(r.status === 200 || r.status === 500, `status ${r.status}`);
      await waitForIdle(proxy.url);
    });

    test('activeConnections is exact while a response streams and returns to 0 after client aborts mid-response', { timeout: TEST_TIMEOUT_MS }, async () => {
      await waitForIdle(proxy.url);
      const slow = '/stream?chunks=500&interval=20&size=32'; // ~10 s if never aborted
      const n = 4;
      await Promise.all(
        Array.from({ length: n }, () =>
          abortAfterFirstChunk(proxy.url + slow, async () => {
            /* abort as soon as the body has started */
          })),
      );
      await waitForIdle(proxy.url);
      // And the upstream streams are torn down too.
      await pollUntil(() => backends.every((b) => b.inFlight === 0), { description: 'backend streams closed' });

      // While a response is streaming, it is counted exactly once.
      await abortAfterFirstChunk(proxy.url + slow, async () => {
        await pollUntil(async () => (await getStats(proxy.url)).totals.activeConnections === 1, {
          description: 'activeConnections 1 while streaming',
        });
      });
      await waitForIdle(proxy.url);
    });

    test('activeConnections returns to 0 after client aborts before the response headers', { timeout: TEST_TIMEOUT_MS }, async () => {
      await waitForIdle(proxy.url);
      const reqs = Array.from({ length: 4 }, () => {
        const req = http.get(`${proxy.url}/hold`, { agent: false });
        req.on('error', () => {});
        return req;
      });
      await pollUntil(() => backends.reduce((n, b) => n + b.held, 0) === 4, { description: '4 requests parked upstream' });
      const during = await getStats(proxy.url);
      assert.equal(during.totals.activeConnections, 4);
      for (const r of reqs) r.destroy();
      await waitForIdle(proxy.url);
      await pollUntil(() => backends.every((b) => b.held === 0), { description: 'upstream requests closed' });
    });
  });
}
