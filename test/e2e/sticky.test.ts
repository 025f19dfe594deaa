/** Sticky sessions (STICKY_COOKIE), observed from outside: which backend answers a client that carries the cookie. */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { serverIdOf } from '../../src/core/upstream/server-id.ts';
import { type Backend, backendServers, closeBackends, startBackends } from '../support/backends.ts';
import { getStats, type HttpResponse, request, serverStats } from '../support/http.ts';
import { pollUntil, TEST_TIMEOUT_MS } from '../support/poll.ts';
import { type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';

/** The value of the `fw` cookie a response sets, or undefined when it sets none. */
function stickyCookie(res: HttpResponse): string | undefined {
  const lines = res.headers['set-cookie'] ?? [];
  const line = lines.find((l) => l.startsWith('fw='));
  return line?.slice(3, line.indexOf(';'));
}

const nameOf = (res: HttpResponse): string => {
  assert.equal(res.status, 200, res.text().slice(0, 300));
  return String(res.headers['x-backend']);
};

for (const runtime of selectedRuntimes()) {
  describe(`sticky sessions [${runtime.name}]`, () => {
    let backends: Backend[] = [];
    let proxy: ProxyHandle | undefined;

    afterEach(async () => {
      await proxy?.stop();
      proxy = undefined;
      await closeBackends(backends);
      backends = [];
    });

    test('the first response sets the cookie; the same cookie goes to the same server across 100 requests', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      proxy = await startProxy(runtime, {
        ALGORITHM: 'round_robin',
        STICKY_COOKIE: 'fw',
        STICKY_COOKIE_MAX_AGE: '600',
        BACKEND_SERVERS: backendServers(backends),
      });
      const first = await request(`${proxy.url}/cookies`);
      const home = nameOf(first);
      const id = stickyCookie(first);
      assert.equal(id, serverIdOf(backends.find((b) => b.name === home)!.url), 'the cookie names the server by its id');
      // The server's own cookies pass beside it, each on its own line.
      assert.deepEqual(first.headers['set-cookie'], [
        'session=abc123; Path=/; HttpOnly',
        'theme=dark; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/',
        'empty=; Max-Age=0',
        `fw=${id}; Max-Age=600; Path=/; HttpOnly; SameSite=Lax`,
      ]);
      for (let i = 0; i < 100; i++) {
        const res = await request(`${proxy.url}/item/${i}`, { headers: { cookie: `theme=dark; fw=${id}` } });
        assert.equal(nameOf(res), home, `request ${i}`);
        assert.equal(stickyCookie(res), undefined, `request ${i} re-set a cookie that already names its server`);
      }
      // Without the cookie the same proxy balances: the cookie is what kept them together.
      const others = new Set<string>();
      for (let i = 0; i < 6; i++) others.add(nameOf(await request(`${proxy.url}/`)));
      assert.deepEqual([...others].sort(), ['a', 'b', 'c']);
    });

    test("when the cookie's server turns unhealthy its holders move, get a new cookie, and stay on the new server", { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      proxy = await startProxy(runtime, { ALGORITHM: 'least_connections', STICKY_COOKIE: 'fw', BACKEND_SERVERS: backendServers(backends) });
      const p = proxy;
      const first = await request(`${p.url}/`);
      const home = backends.find((b) => b.name === nameOf(first))!;
      const id = stickyCookie(first)!;
      home.healthStatus = 500;
      await pollUntil(async () => serverStats(await getStats(p.url), home.url).healthy === false, { description: `${home.name} reported unhealthy` });

      const moved = await request(`${p.url}/`, { headers: { cookie: `fw=${id}` } });
      const next = nameOf(moved);
      assert.notEqual(next, home.name);
      const newId = stickyCookie(moved);
      assert.equal(newId, serverIdOf(backends.find((b) => b.name === next)!.url), 'the cookie is re-set to the new server');
      for (let i = 0; i < 20; i++) assert.equal(nameOf(await request(`${p.url}/`, { headers: { cookie: `fw=${newId}` } })), next);
      // Still holding the old cookie: each request moves, and is told the new cookie again, until the client takes it.
      const again = await request(`${p.url}/`, { headers: { cookie: `fw=${id}` } });
      assert.notEqual(nameOf(again), home.name);
      assert.ok(stickyCookie(again));
    });

    test('a forged cookie is ignored: the request stays inside the pool and gets a real cookie', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'outsider' }]);
      const [a, b, outsider] = backends as [Backend, Backend, Backend];
      proxy = await startProxy(runtime, { ALGORITHM: 'round_robin', STICKY_COOKIE: 'fw', BACKEND_SERVERS: backendServers([a, b]) });
      const forged = [
        serverIdOf(outsider.url),
        outsider.url,
        `${outsider.url}/`,
        '127.0.0.1:' + outsider.port,
        'ffffffffffffffff',
        serverIdOf(a.url).toUpperCase(),
        '',
        '%00',
      ];
      const poolIds = new Set([serverIdOf(a.url), serverIdOf(b.url)]);
      for (const value of forged) {
        const res = await request(`${proxy.url}/`, { headers: { cookie: `fw=${value}` } });
        assert.ok(['a', 'b'].includes(nameOf(res)), `fw=${value} answered by ${nameOf(res)}`);
        const id = stickyCookie(res);
        assert.ok(id !== undefined && poolIds.has(id), `fw=${value} got cookie ${id}`);
      }
      assert.equal(outsider.requests.length, 0, 'a forged cookie reached a server outside the pool');
    });
  });
}
