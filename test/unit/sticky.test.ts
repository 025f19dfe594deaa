/** Sticky sessions and hash-key extraction: pure functions over a request view, a pool and a selector. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { extractHashKey, type HashKeySource, parseHashKey, type RequestView } from '../../src/core/selection/hash-key.ts';
import { createRequestSelection } from '../../src/core/selection/request-selection.ts';
import { stickyCookie, type StickyOptions } from '../../src/core/selection/sticky.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';

function view(target: string, headers: Record<string, string> = {}, clientAddress: string | undefined = '203.0.113.7'): RequestView {
  const h = new Headers(headers);
  return { method: 'GET', target, header: (name) => h.get(name), clientAddress };
}

const source = (text: string): HashKeySource => parseHashKey(text) as HashKeySource;

describe('hash keys', () => {
  test('ip is the client address', () => assert.equal(extractHashKey(source('ip'), view('/')), '203.0.113.7'));
  test('path is the target without its query', () => assert.equal(extractHashKey(source('path'), view('/a/b?x=1')), '/a/b'));
  test('header:<name> reads the header case-insensitively', () => {
    assert.equal(extractHashKey(source('header:X-User'), view('/', { 'x-user': 'u42' })), 'u42');
  });
  test('cookie:<name> reads one cookie among several', () => {
    assert.equal(extractHashKey(source('cookie:sid'), view('/', { cookie: 'a=1; sid=abc; b=2' })), 'abc');
  });
  test('query:<name> reads a decoded query parameter', () => {
    assert.equal(extractHashKey(source('query:user'), view('/p?x=1&user=a%20b')), 'a b');
  });
  test('a request without the key, or with it empty, has none (it goes to HASH_FALLBACK)', () => {
    assert.equal(extractHashKey(source('header:x-user'), view('/')), undefined);
    assert.equal(extractHashKey(source('header:x-user'), view('/', { 'x-user': '' })), undefined);
    assert.equal(extractHashKey(source('cookie:sid'), view('/', { cookie: 'other=1' })), undefined);
    assert.equal(extractHashKey(source('query:user'), view('/p')), undefined);
    assert.equal(extractHashKey(source('query:user'), view('/p?user=')), undefined);
    assert.equal(extractHashKey(source('ip'), { ...view('/'), clientAddress: undefined }), undefined);
  });
});

const URLS = ['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.3:80'];
const STICKY: StickyOptions = { cookieName: 'fw', maxAgeSeconds: undefined, sameSite: 'Lax', secure: 'auto' };

function setup(sticky: StickyOptions = STICKY) {
  const pool = new ServerPool(URLS.map((url) => ({ url, weight: 1 })));
  const selection = createRequestSelection(pool, { algorithm: 'round_robin', hashKey: { kind: 'ip' }, hashFallback: 'round_robin', sticky });
  return { pool, selection };
}

/** The cookie's value from a Set-Cookie line. */
const cookieValue = (setCookie: string): string => setCookie.split(';')[0]!.split('=')[1]!;

describe('sticky sessions', () => {
  test('a request without the cookie is picked normally and told to set it, naming the server by its id', () => {
    const { selection, pool } = setup();
    const choice = selection.choose(view('/'), false)!;
    assert.equal(choice.server, pool.servers[0]);
    assert.equal(choice.setCookie, `fw=${pool.servers[0]!.serverId}; Path=/; HttpOnly; SameSite=Lax`);
  });

  test('the same cookie goes to the same server across 100 requests, and is not re-set', () => {
    const { selection, pool } = setup();
    const cookie = `fw=${pool.servers[1]!.serverId}`;
    for (let i = 0; i < 100; i++) {
      const choice = selection.choose(view('/', { cookie: `theme=dark; ${cookie}` }), false)!;
      assert.equal(choice.server.url, URLS[1]);
      assert.equal(choice.setCookie, undefined);
    }
  });

  test("an unhealthy server's cookie holders move elsewhere and their cookie is re-set; a removed server's too", () => {
    const { selection, pool } = setup();
    const [, b, c] = pool.servers;
    pool.setHealthy(b!, false);
    const moved = selection.choose(view('/', { cookie: `fw=${b!.serverId}` }), false)!;
    assert.notEqual(moved.server, b);
    assert.equal(cookieValue(moved.setCookie!), moved.server.serverId);
    pool.remove(c!);
    const again = selection.choose(view('/', { cookie: `fw=${c!.serverId}` }), false)!;
    assert.notEqual(again.server, c);
    assert.ok(again.setCookie);
  });

  test('a forged cookie is ignored: an address, an unknown id or garbage never routes outside the pool', () => {
    const { selection } = setup();
    for (const forged of ['http://169.254.169.254:80', '0000000000000000', '../../etc', '%00', 'x'.repeat(5000)]) {
      const choice = selection.choose(view('/', { cookie: `fw=${encodeURIComponent(forged)}` }), false)!;
      assert.ok(URLS.includes(choice.server.url));
      assert.ok(choice.setCookie, `no re-set for ${forged}`);
    }
  });

  test('Secure follows the client connection by default; Max-Age and SameSite come from the settings', () => {
    const { pool } = setup();
    const server = pool.servers[0]!;
    assert.match(stickyCookie(STICKY, server, true), /; Secure/);
    assert.doesNotMatch(stickyCookie(STICKY, server, false), /Secure/);
    assert.equal(
      stickyCookie({ cookieName: 'fw', maxAgeSeconds: 600, sameSite: 'Strict', secure: true }, server, false),
      `fw=${server.serverId}; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Strict`,
    );
    assert.match(stickyCookie({ ...STICKY, sameSite: 'None' }, server, false), /; Secure; SameSite=None/);
  });

  test('with no server available there is no choice (the lifecycle answers 503)', () => {
    const { selection, pool } = setup();
    for (const server of pool.servers) pool.setHealthy(server, false);
    assert.equal(selection.choose(view('/', { cookie: `fw=${pool.servers[0]!.serverId}` }), false), undefined);
  });
});

describe('request selection with consistent hashing', () => {
  test('the same key goes to the same server; requests without the key rotate through the fallback', () => {
    const pool = new ServerPool(URLS.map((url) => ({ url, weight: 1 })));
    const selection = createRequestSelection(pool, {
      algorithm: 'consistent_hash',
      hashKey: source('header:x-user'),
      hashFallback: 'round_robin',
      sticky: undefined,
    });
    const first = selection.choose(view('/', { 'x-user': 'alice' }), false)!.server;
    for (let i = 0; i < 20; i++) assert.equal(selection.choose(view('/', { 'x-user': 'alice' }), false)!.server, first);
    assert.deepEqual([0, 1, 2].map(() => selection.choose(view('/'), false)!.server.url), URLS);
  });
});
