/** Selection algorithms, observed from outside: which backend answers each request. */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { type Backend, backendServers, closeBackends, startBackends } from '../support/backends.ts';
import { getStats, request, sequence, serverStats, whoAnswers } from '../support/http.ts';
import { createSelector } from '../../src/core/selection/selector.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';
import { pollUntil, TEST_TIMEOUT_MS } from '../support/poll.ts';
import { type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';

for (const runtime of selectedRuntimes()) {
  describe(`algorithms [${runtime.name}]`, () => {
    let backends: Backend[] = [];
    let proxy: ProxyHandle | undefined;

    afterEach(async () => {
      await proxy?.stop();
      proxy = undefined;
      await closeBackends(backends);
      backends = [];
    });

    test('round_robin cycles strictly through 3 servers in configured order', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      proxy = await startProxy(runtime, { ALGORITHM: 'round_robin', BACKEND_SERVERS: backendServers(backends) });
      const seq = await sequence(proxy.url, 12);
      const order = ['a', 'b', 'c'];
      const start = order.indexOf(seq[0]!);
      const expected = seq.map((_, i) => order[(start + i) % 3]);
      assert.deepEqual(seq, expected, `got ${seq.join(' ')}`);
    });

    test('weighted_round_robin with weights 5,1,1 gives a a a b c a a per cycle', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      proxy = await startProxy(runtime, {
        ALGORITHM: 'weighted_round_robin',
        BACKEND_SERVERS: backendServers(backends, [5, 1, 1]),
      });
      const seq = await sequence(proxy.url, 14);
      const cycle = ['a', 'a', 'a', 'b', 'c', 'a', 'a'];
      assert.deepEqual(seq, [...cycle, ...cycle], `got ${seq.join(' ')}`);
      const stats = await getStats(proxy.url);
      assert.deepEqual(
        stats.servers.map((s) => s.weight),
        [5, 1, 1],
      );
    });

    test('least_connections sends new requests to the idle server while others hold slow requests', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      proxy = await startProxy(runtime, { ALGORITHM: 'least_connections', BACKEND_SERVERS: backendServers(backends) });
      const p = proxy;
      const held = (): number => backends.reduce((n, b) => n + b.held, 0);

      // Two held requests land on two different servers (the second avoids the busy one).
      const hold1 = request(`${p.url}/hold`, { timeoutMs: 20_000 });
      await pollUntil(() => held() === 1, { description: 'first /hold parked at a backend' });
      const hold2 = request(`${p.url}/hold`, { timeoutMs: 20_000 });
      await pollUntil(() => held() === 2, { description: 'second /hold parked at a backend' });
      const busy = backends.filter((b) => b.held === 1).map((b) => b.name);
      assert.equal(busy.length, 2, `both holds on one server: ${backends.map((b) => `${b.name}=${b.held}`).join(' ')}`);
      const idle = backends.find((b) => b.held === 0)!.name;

      const stats = await getStats(p.url);
      assert.equal(stats.totals.activeConnections, 2);
      for (const b of backends) assert.equal(serverStats(stats, b.url).activeConnections, b.held, `${b.name} activeConnections`);

      // Every further short request goes to the only idle server.
      const answered: string[] = [];
      for (let i = 0; i < 6; i++) {
        answered.push(await whoAnswers(p.url));
        // Wait until the proxy has closed the bookkeeping of that request before the next pick.
        await pollUntil(async () => (await getStats(p.url)).totals.activeConnections === 2, {
          description: 'in-flight count back to the 2 held requests',
        });
      }
      assert.deepEqual(answered, Array(6).fill(idle), `idle server was ${idle}; got ${answered.join(' ')}`);

      for (const b of backends) b.release();
      const [r1, r2] = await Promise.all([hold1, hold2]);
      assert.equal(r1.status, 200);
      assert.equal(r2.status, 200);
    });

    test('least_response_time prefers the fast server after warm-up', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'slow', delayMs: 120 }, { name: 'fast' }]);
      proxy = await startProxy(runtime, { ALGORITHM: 'least_response_time', BACKEND_SERVERS: backendServers(backends) });
      const warm = await sequence(proxy.url, 6);
      assert.ok(warm.includes('fast'), `warm-up never reached the fast server: ${warm.join(' ')}`);
      const seq = await sequence(proxy.url, 20);
      const fast = seq.filter((n) => n === 'fast').length;
      assert.ok(fast >= 15, `fast server answered only ${fast}/20 after warm-up: ${seq.join(' ')}`);
    });
    for (const algorithm of ['power_of_two', 'peak_ewma', 'random', 'consistent_hash'] as const) {
      test(`${algorithm} serves every request through the configured servers and uses all of them`, { timeout: TEST_TIMEOUT_MS }, async () => {
        backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
        // consistent_hash: these requests carry no x-user header, so HASH_FALLBACK (round_robin) spreads them.
        const hashKey = algorithm === 'consistent_hash' ? { HASH_KEY: 'header:x-user' } : {};
        proxy = await startProxy(runtime, { ALGORITHM: algorithm, ...hashKey, BACKEND_SERVERS: backendServers(backends) });
        const seq = await sequence(proxy.url, 30);
        assert.equal(seq.length, 30);
        assert.deepEqual([...new Set(seq)].sort(), ['a', 'b', 'c'], `got ${seq.join(' ')}`);
        assert.equal((await getStats(proxy.url)).algorithm, algorithm);
      });
    }

    /** Key `k3` as a client address: 198.51.100.3. */
    const clientOf = (k: string) => `198.51.100.${k.slice(1)}`;
    /** How each HASH_KEY kind puts key `k` into a request (path, headers), and the key the proxy must hash. */
    const HASH_KEYS = [
      { hashKey: 'header:x-user', send: (k: string) => ({ path: '/', headers: { 'x-user': k } }), key: (k: string) => k },
      { hashKey: 'cookie:sid', send: (k: string) => ({ path: '/', headers: { cookie: `theme=dark; sid=${k}` } }), key: (k: string) => k },
      { hashKey: 'query:user', send: (k: string) => ({ path: `/items?page=2&user=${k}`, headers: {} }), key: (k: string) => k },
      { hashKey: 'path', send: (k: string) => ({ path: `/carts/${k}?page=1`, headers: {} }), key: (k: string) => `/carts/${k}` },
      // Behind a trusted proxy, the first X-Forwarded-For address is the client (README: Algorithms).
      { hashKey: 'ip', trustProxy: true, send: (k: string) => ({ path: '/', headers: { 'x-forwarded-for': `${clientOf(k)}, 10.0.0.1` } }), key: clientOf },
    ] as const;

    for (const kind of HASH_KEYS) {
      test(
        `consistent_hash with HASH_KEY=${kind.hashKey}${
          'trustProxy' in kind ? ' and TRUST_PROXY=true' : ''
        } sends each key to the server the configuration maps it to`,
        { timeout: TEST_TIMEOUT_MS },
        async () => {
          backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }]);
          const servers = backendServers(backends);
          proxy = await startProxy(runtime, {
            ALGORITHM: 'consistent_hash',
            HASH_KEY: kind.hashKey,
            TRUST_PROXY: 'trustProxy' in kind ? 'true' : 'false',
            BACKEND_SERVERS: servers,
          });
          // The mapping depends on configuration alone: a selector in this process over the same servers predicts it.
          const expected = createSelector(new ServerPool(backends.map((b) => ({ url: b.url, weight: 1 }))), { algorithm: 'consistent_hash' });
          const nameOf = new Map(backends.map((b) => [b.url, b.name]));
          const keys = Array.from({ length: 16 }, (_, i) => `k${i}`);
          const got: string[] = [];
          for (const round of [1, 2]) {
            for (const k of keys) {
              const { path, headers } = kind.send(k);
              const res = await request(proxy.url + path, { headers });
              assert.equal(res.status, 200, `${k}: ${res.text()}`);
              const want = nameOf.get(expected.pick({ hashKey: kind.key(k) })!.url);
              assert.equal(res.headers['x-backend'], want, `key ${kind.key(k)}, round ${round}`);
              got.push(String(res.headers['x-backend']));
            }
          }
          assert.ok(new Set(got).size >= 2, `every key on one server: ${got.join(' ')}`);
        },
      );
    }

    test(
      'consistent_hash with HASH_KEY=ip and no TRUST_PROXY hashes the socket address and ignores X-Forwarded-For',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }]);
        proxy = await startProxy(runtime, { ALGORITHM: 'consistent_hash', HASH_KEY: 'ip', BACKEND_SERVERS: backendServers(backends) });
        const expected = createSelector(new ServerPool(backends.map((b) => ({ url: b.url, weight: 1 }))), { algorithm: 'consistent_hash' });
        const want = backends.find((b) => b.url === expected.pick({ hashKey: '127.0.0.1' })!.url)!.name;
        for (let i = 0; i < 12; i++) {
          const res = await request(`${proxy.url}/`, { headers: { 'x-forwarded-for': `198.51.100.${i}` } });
          assert.equal(res.headers['x-backend'], want, `request ${i}`);
        }
      },
    );

    test(
      "consistent_hash: an unhealthy server's keys move to the others, no other key moves, and they come back when it returns",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
        proxy = await startProxy(runtime, { ALGORITHM: 'consistent_hash', HASH_KEY: 'query:user', BACKEND_SERVERS: backendServers(backends) });
        const p = proxy;
        const mapping = async () => {
          const out: string[] = [];
          for (let i = 0; i < 30; i++) out.push(await whoAnswers(p.url, `/?user=u${i}`));
          return out;
        };
        const before = await mapping();
        const down = backends.find((b) => b.name === before[0])!;
        down.healthStatus = 500;
        await pollUntil(async () => serverStats(await getStats(p.url), down.url).healthy === false, { description: `${down.name} reported unhealthy` });
        const during = await mapping();
        for (const [i, name] of before.entries()) {
          if (name === down.name) assert.notEqual(during[i], down.name, `u${i} stayed on the unhealthy server`);
          else assert.equal(during[i], name, `u${i} moved though its server stayed healthy`);
        }
        down.healthStatus = 200;
        await pollUntil(async () => serverStats(await getStats(p.url), down.url).healthy, { description: `${down.name} back in rotation` });
        assert.deepEqual(await mapping(), before);
      },
    );

    test('consistent_hash: two separately started proxies send each key to the same server, even with the servers listed in another order', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }, { name: 'e' }]);
      const env = { ALGORITHM: 'consistent_hash', HASH_KEY: 'header:x-user' };
      proxy = await startProxy(runtime, { ...env, BACKEND_SERVERS: backendServers(backends) });
      const second = await startProxy(runtime, { ...env, BACKEND_SERVERS: backendServers([...backends].reverse()) });
      try {
        const mapping = async (url: string) => {
          const out: string[] = [];
          for (let i = 0; i < 40; i++) out.push(String((await request(`${url}/`, { headers: { 'x-user': `user-${i}` } })).headers['x-backend']));
          return out;
        };
        const first = await mapping(proxy.url);
        assert.deepEqual(await mapping(second.url), first);
        assert.ok(new Set(first).size >= 3, `40 keys on ${new Set(first).size} servers: ${first.join(' ')}`);
      } finally {
        await second.stop();
      }
    });
  });
}
