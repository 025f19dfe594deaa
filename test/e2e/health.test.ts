/** Active health checks, passive failure marking, and the 502/503/504 answers. */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { freePort } from '../../scripts/lib/processes.mjs';
import { type Backend, backendServers, closeBackends, startBackends } from '../support/backends.ts';
import { getStats, type HttpResponse, request, sequence, serverStats, waitForIdle } from '../support/http.ts';
import { pollUntil, TEST_TIMEOUT_MS } from '../support/poll.ts';
import { isEvent, type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';

function assertJsonError(res: HttpResponse, status: number): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text().slice(0, 300)}`);
  assert.match(String(res.headers['content-type']), /application\/json/);
  const body = res.json();
  assert.equal(typeof body.error, 'string', `body ${res.text()}`);
  assert.ok(body.error.length > 0);
}

/** Waits until every server has been probed once, so a later passive failure is not overwritten by the start-up probe. */
async function waitForFirstProbes(proxy: ProxyHandle): Promise<void> {
  await pollUntil(async () => (await getStats(proxy.url)).servers.every((s) => s.lastHealthCheck !== null), {
    description: 'first health probe of every server',
  });
}

for (const runtime of selectedRuntimes()) {
  describe(`health and failures [${runtime.name}]`, () => {
    let backends: Backend[] = [];
    let proxy: ProxyHandle | undefined;

    afterEach(async () => {
      await proxy?.stop();
      proxy = undefined;
      await closeBackends(backends);
      backends = [];
    });

    test('a server whose /health turns 500 leaves rotation and returns when it answers 200 again', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      const [, b] = backends as [Backend, Backend, Backend];
      proxy = await startProxy(runtime, { ALGORITHM: 'round_robin', BACKEND_SERVERS: backendServers(backends) });
      const p = proxy;
      await waitForFirstProbes(p);

      b.healthStatus = 500;
      await pollUntil(async () => serverStats(await getStats(p.url), b.url).healthy === false, {
        description: 'b reported unhealthy in /lb/stats',
      });
      const down = await p.waitForLog(isEvent('server_unhealthy'));
      // HEALTH_CHECK_FALL (default 3) failing probes in a row take it out; the reason names the streak and the last status.
      assert.deepEqual(
        { server: down.properties?.server, reason: down.properties?.reason, source: down.properties?.source, healthyServers: down.properties?.healthyServers },
        { server: b.url, reason: '3 probes failed in a row, last: status 500', source: 'active', healthyServers: 2 },
        'server_unhealthy names b, the failed probes and what is left',
      );
      const bRequestsBefore = b.requests.length;
      const seq = await sequence(p.url, 8);
      assert.ok(!seq.includes('b'), `unhealthy b still got traffic: ${seq.join(' ')}`);
      assert.equal(b.requests.length, bRequestsBefore);
      const s = serverStats(await getStats(p.url), b.url);
      assert.equal(s.lastHealthCheck?.ok, false);
      assert.equal(s.lastHealthCheck?.status, 500);
      const ready = await request(`${p.url}/lb/ready`);
      assert.equal(ready.status, 200);
      assert.equal(ready.json().healthyServers, 2);

      b.healthStatus = 200;
      await pollUntil(async () => serverStats(await getStats(p.url), b.url).healthy === true, {
        description: 'b reported healthy again in /lb/stats',
      });
      await p.waitForLog(isEvent('server_healthy'));
      const seq2 = await sequence(p.url, 6);
      assert.equal(seq2.filter((n) => n === 'b').length, 2, `b back in rotation: ${seq2.join(' ')}`);

      // Health changes are logged once per change, not once per probe.
      const probes = b.healthChecks;
      await pollUntil(() => b.healthChecks >= probes + 3, { description: '3 more probes of b' });
      assert.equal(p.events('server_unhealthy').length, 1, 'server_unhealthy lines');
      assert.equal(p.events('server_healthy').length, 1, 'server_healthy lines');
    });

    test('503 JSON when no server is healthy; /lb/ready 503, /lb/health still 200', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([
        { name: 'a', healthStatus: 500 },
        { name: 'b', healthStatus: 503 },
      ]);
      proxy = await startProxy(runtime, { BACKEND_SERVERS: backendServers(backends) });
      const p = proxy;
      await pollUntil(async () => (await request(`${p.url}/lb/ready`)).status === 503, {
        description: '/lb/ready answering 503',
      });
      const stats = await getStats(p.url);
      assert.ok(stats.servers.every((s) => !s.healthy), 'all servers unhealthy');
      const before = backends.map((b) => b.requests.length);
      for (const method of ['GET', 'POST']) {
        const res = await request(`${p.url}/anything?x=1`, { method, body: method === 'POST' ? 'payload' : undefined });
        assertJsonError(res, 503);
      }
      assert.deepEqual(
        backends.map((b) => b.requests.length),
        before,
        'no request reached an unhealthy server',
      );
      assert.equal((await request(`${p.url}/lb/health`)).status, 200);

      // Recovery: one server comes back → traffic flows and ready is 200 again.
      backends[0]!.healthStatus = 200;
      await pollUntil(async () => (await request(`${p.url}/lb/ready`)).status === 200, { description: '/lb/ready 200 again' });
      const ok = await request(`${p.url}/again`);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['x-backend'], 'a');
    });

    test('502 JSON when the server resets the connection; the failure counts towards ejection, but the only server stays in rotation', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      // /health answers 200 but every other path destroys the socket.
      backends = await startBackends([{ name: 'resetter', mode: 'destroy' }]);
      // Long interval: after the start-up probe, only passive marking can make it unhealthy.
      proxy = await startProxy(runtime, { BACKEND_SERVERS: backendServers(backends), HEALTH_CHECK_INTERVAL_MS: '60000' });
      const p = proxy;
      await waitForFirstProbes(p);
      assert.equal(serverStats(await getStats(p.url), backends[0]!.url).healthy, true);

      assertJsonError(await request(`${p.url}/boom`), 502);
      assert.ok(backends[0]!.requests.length >= 1, 'the request reached the backend');
      const stats = await getStats(p.url);
      const s = serverStats(stats, backends[0]!.url);
      // Outlier ejection replaced "one failure marks a server unhealthy": a one-server pool never ejects.
      assert.equal(s.healthy, true, 'one reset took the only server out');
      assert.ok((s.consecutiveFailures ?? 0) >= 1, `consecutiveFailures ${s.consecutiveFailures}`);
      assert.ok(s.errors >= 1, `errors ${s.errors}`);
      assert.ok(stats.totals.errors >= 1);
      const seen = backends[0]!.requests.length;
      assertJsonError(await request(`${p.url}/boom`), 502);
      assert.ok(backends[0]!.requests.length > seen, 'the next request reached the server again');
      await waitForIdle(p.url);
    });

    test('502 JSON when the server refuses connections (gone after its first probe)', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'vanishing' }]);
      proxy = await startProxy(runtime, { BACKEND_SERVERS: backendServers(backends), HEALTH_CHECK_INTERVAL_MS: '60000' });
      const p = proxy;
      await waitForFirstProbes(p);
      await backends[0]!.close(); // port now refuses; pooled keep-alive sockets are destroyed
      assertJsonError(await request(`${p.url}/gone`), 502);
      assert.ok((serverStats(await getStats(p.url), backends[0]!.url).consecutiveFailures ?? 0) >= 1);
      await waitForIdle(p.url);
    });

    test('a server that refuses from the start is marked unhealthy by the start-up probe', { timeout: TEST_TIMEOUT_MS }, async () => {
      const port = await freePort();
      backends = await startBackends([{ name: 'up' }]);
      const dead = `http://127.0.0.1:${port}`;
      proxy = await startProxy(runtime, { BACKEND_SERVERS: `${dead},${backends[0]!.url}` });
      const p = proxy;
      await pollUntil(async () => serverStats(await getStats(p.url), dead).healthy === false, {
        description: 'dead server unhealthy',
      });
      const s = serverStats(await getStats(p.url), dead);
      assert.equal(s.lastHealthCheck?.ok, false);
      assert.equal(s.lastHealthCheck?.status, null);
      const seq = await sequence(p.url, 4);
      assert.deepEqual(seq, ['up', 'up', 'up', 'up']);
    });

    test('504 JSON when the server sends no headers within UPSTREAM_TIMEOUT_MS', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'hanger', mode: 'hang' }]);
      proxy = await startProxy(runtime, {
        BACKEND_SERVERS: backendServers(backends),
        UPSTREAM_TIMEOUT_MS: '300',
        HEALTH_CHECK_INTERVAL_MS: '60000',
      });
      const p = proxy;
      await waitForFirstProbes(p);
      const t0 = Date.now();
      const res = await request(`${p.url}/never`, { timeoutMs: 10_000 });
      const elapsed = Date.now() - t0;
      assertJsonError(res, 504);
      assert.ok(elapsed >= 250, `504 after only ${elapsed} ms`);
      assert.ok(elapsed < 5000, `504 took ${elapsed} ms`);
      const s = serverStats(await getStats(p.url), backends[0]!.url);
      assert.equal(s.healthy, true, 'one timeout took the only server out');
      assert.ok((s.consecutiveFailures ?? 0) >= 1, 'the timeout counts towards ejection');
      assert.ok(s.errors >= 1);
      await waitForIdle(p.url);
      // The proxy gives up on the upstream request too.
      await pollUntil(() => backends[0]!.inFlight === 0, { description: 'upstream request closed by the proxy' });
    });

    test('a slow server within UPSTREAM_TIMEOUT_MS is not a timeout', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'slowish', delayMs: 100 }]);
      proxy = await startProxy(runtime, { BACKEND_SERVERS: backendServers(backends), UPSTREAM_TIMEOUT_MS: '2000' });
      const res = await request(`${proxy.url}/x`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-backend'], 'slowish');
    });
  });
}
