/** Choosing a server for a retry (excluding those tried), and the request view selection reads. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALGORITHM_NAMES } from '../../src/core/selection/algorithm.ts';
import { createRequestSelection } from '../../src/core/selection/request-selection.ts';
import { seededRandom } from '../../src/core/selection/seeded-random.ts';
import { createSelector } from '../../src/core/selection/selector.ts';
import { requestView } from '../../src/core/proxy/request-view.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';

const URLS = ['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.3:80', 'http://10.0.0.4:80'];
const poolOf = () => new ServerPool(URLS.map((url) => ({ url, weight: 1 })));

describe('choosing with servers excluded (a retry)', () => {
  for (const algorithm of ALGORITHM_NAMES) {
    test(`${algorithm}: never returns an excluded server, and undefined when all available ones are`, () => {
      const pool = poolOf();
      const selector = createSelector(pool, { algorithm, random: seededRandom(7) });
      const [a, b, c, d] = pool.servers;
      for (let i = 0; i < 200; i++) {
        const exclude = new Set([pool.servers[i % 4]!, pool.servers[(i + 1) % 4]!]);
        const server = selector.pick({ hashKey: `key-${i}` }, exclude);
        assert.ok(server !== undefined && !exclude.has(server), `pick ${i} returned ${server?.url}`);
      }
      pool.setHealthy(d!, false);
      assert.equal(selector.pick({ hashKey: 'k' }, new Set([a!, b!, c!])), undefined);
      // Excluding an unavailable server changes nothing, and the excluded ones come back afterwards.
      assert.ok(new Set([a!, b!, c!]).has(selector.pick({ hashKey: 'k' }, new Set([d!]))!));
      const seen = new Set(Array.from({ length: 60 }, (_, i) => selector.pick({ hashKey: `other-${i}` })));
      assert.deepEqual([...seen].map((s) => s!.url).sort(), URLS.slice(0, 3));
    });
  }

  test('round_robin: a retry takes the next server, and the rotation carries on after it', () => {
    const pool = poolOf();
    const selector = createSelector(pool, { algorithm: 'round_robin' });
    const [a, b] = pool.servers;
    assert.equal(selector.pick(), a);
    assert.equal(selector.pick(undefined, new Set([a!])), b);
    assert.deepEqual([selector.pick(), selector.pick(), selector.pick()].map((s) => s!.url), URLS.slice(2).concat(URLS[0]!));
  });

  test("consistent_hash: a retry moves the key to the server it would have if its own were down; the key's home is unchanged", () => {
    const pool = poolOf();
    const selector = createSelector(pool, { algorithm: 'consistent_hash' });
    const home = selector.pick({ hashKey: 'user-1' })!;
    const retry = selector.pick({ hashKey: 'user-1' }, new Set([home]));
    pool.setHealthy(home, false);
    assert.equal(retry, selector.pick({ hashKey: 'user-1' }));
    pool.setHealthy(home, true);
    assert.equal(selector.pick({ hashKey: 'user-1' }), home);
  });

  test('least_response_time: excluding a server keeps what was learned about it', () => {
    const pool = poolOf();
    const selector = createSelector(pool, { algorithm: 'least_response_time' });
    const [a, b, c, d] = pool.servers;
    for (const [server, ms] of [[a, 5], [b, 50], [c, 60], [d, 70]] as const) selector.responded(server!, ms);
    assert.equal(selector.pick(undefined, new Set([a!])), b);
    assert.equal(selector.pick(), a, 'a is still the fastest after being excluded once');
  });

  test("sticky: when the cookie's server was tried, the retry goes elsewhere and re-sets the cookie", () => {
    const pool = poolOf();
    const sticky = { cookieName: 'fw', maxAgeSeconds: undefined, sameSite: 'Lax', secure: 'auto' } as const;
    const selection = createRequestSelection(pool, { algorithm: 'round_robin', hashKey: { kind: 'ip' }, hashFallback: 'round_robin', sticky });
    const [a] = pool.servers;
    const headers = new Headers({ cookie: `fw=${a!.serverId}` });
    const view = { method: 'GET', target: '/', header: (name: string) => headers.get(name), clientAddress: undefined };
    assert.deepEqual(selection.choose(view, false), { server: a, setCookie: undefined });
    const retry = selection.choose(view, false, new Set([a!]))!;
    assert.notEqual(retry.server, a);
    assert.equal(retry.setCookie, `fw=${retry.server.serverId}; Path=/; HttpOnly; SameSite=Lax`);
  });
});

describe('the request view selection reads', () => {
  const head = (headers: Record<string, string>, address = '::ffff:192.0.2.7') => ({
    method: 'GET',
    target: '/p?q=1',
    headers: new Headers(headers),
    client: { address },
  });

  test('without TRUST_PROXY the client address is the socket peer, whatever X-Forwarded-For claims', () => {
    assert.equal(requestView(head({ 'x-forwarded-for': '198.51.100.1' }), false).clientAddress, '192.0.2.7');
  });

  test('with TRUST_PROXY it is the first X-Forwarded-For address (the original client), or the peer without one', () => {
    assert.equal(requestView(head({ 'x-forwarded-for': ' 198.51.100.1 , 10.0.0.2, 10.0.0.3' }), true).clientAddress, '198.51.100.1');
    assert.equal(requestView(head({ 'x-forwarded-for': '::ffff:198.51.100.4' }), true).clientAddress, '198.51.100.4');
    assert.equal(requestView(head({}), true).clientAddress, '192.0.2.7');
    assert.equal(requestView(head({ 'x-forwarded-for': '' }), true).clientAddress, '192.0.2.7');
  });

  test('a header read once keeps its value after the header rules rewrite the headers for upstream', () => {
    const h = head({ host: 'shop.example', cookie: 'fw=1' });
    const view = requestView(h, false);
    assert.equal(view.header('Host'), 'shop.example');
    h.headers.delete('host');
    assert.equal(view.header('host'), 'shop.example');
  });
});
