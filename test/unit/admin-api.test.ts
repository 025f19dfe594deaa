/** The admin API against a fake pool: bearer token, listing, adding, changing and removing servers, and 400s per field. */
// deno-lint-ignore-file no-explicit-any -- admin API answers are read as loose JSON
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAdminApi } from '../../src/core/admin/admin-api.ts';
import { bearerTokenChecker } from '../../src/core/admin/bearer-token.ts';
import type { AddResult, PoolControl, ServerChange, ServerView } from '../../src/core/admin/pool-control.ts';
import { recordingLogger } from './fakes.ts';

const TOKEN = 'test-token-0123456789abcdef';

/** An in-memory pool with the semantics the balancer will implement. */
class FakePool implements PoolControl {
  servers: ServerView[] = [{ id: 'a1b2c3d4', url: 'http://127.0.0.1:5001', weight: 1, adminState: 'active', healthy: true, inFlight: 2 }];
  list(): readonly ServerView[] {
    return this.servers;
  }
  add(input: { url: string; weight: number }): AddResult {
    const existing = this.servers.find((s) => s.url === input.url);
    if (existing) return { ok: false, existing };
    const server: ServerView = { id: `id${this.servers.length}`, ...input, adminState: 'active', healthy: true, inFlight: 0 };
    this.servers.push(server);
    return { ok: true, server };
  }
  update(id: string, change: ServerChange): ServerView | undefined {
    const i = this.servers.findIndex((s) => s.id === id);
    if (i === -1) return undefined;
    this.servers[i] = { ...this.servers[i]!, ...change };
    return this.servers[i];
  }
  remove(id: string): ServerView | undefined {
    return this.update(id, { adminState: 'drain' }) && this.update(id, { removing: true } as ServerChange);
  }
}

function setup() {
  const pool = new FakePool();
  const { logger, calls } = recordingLogger();
  const app = createAdminApi({ token: TOKEN, pool, log: logger });
  const call = async (method: string, path: string, body?: unknown, auth: string | null = `Bearer ${TOKEN}`) => {
    const headers: Record<string, string> = {};
    if (auth !== null) headers.authorization = auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await app.request(path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
  };
  return { pool, calls, call };
}

describe('admin API authorization', () => {
  test('a missing, malformed or wrong token gets 401 with WWW-Authenticate and a log line that never holds the token', async () => {
    const { call, calls, pool } = setup();
    const wrong = `Bearer ${TOKEN.slice(0, -1)}x`;
    for (const auth of [null, `Basic ${TOKEN}`, wrong, `Bearer ${TOKEN}extra`, 'Bearer ']) {
      const res = await call('POST', '/lb/admin/servers', { url: 'http://127.0.0.1:5009' }, auth);
      assert.equal(res.status, 401, String(auth));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="fairway-admin"');
    }
    assert.equal(pool.servers.length, 1, 'nothing changed');
    assert.deepEqual(calls.map((c) => c.properties.reason), ['missing', 'malformed', 'wrong', 'wrong', 'malformed']);
    for (const c of calls) {
      assert.equal(c.level, 'warn');
      assert.equal(c.properties.event, 'admin_unauthorized');
      assert.ok(!JSON.stringify(c).includes(TOKEN.slice(0, 10)), 'the token must not be logged');
    }
  });

  test('the scheme is case-insensitive and the right token passes', async () => {
    const { call } = setup();
    assert.equal((await call('GET', '/lb/admin/servers', undefined, `bearer ${TOKEN}`)).status, 200);
    assert.equal((await call('GET', '/lb/admin/servers', undefined, `BEARER ${TOKEN}`)).status, 200);
  });

  test('the checker accepts only the exact token, whatever the length of the presented one', async () => {
    const check = bearerTokenChecker('s3cret-token-value');
    assert.equal(await check('Bearer s3cret-token-value'), 'ok');
    for (const t of ['s3cret-token-valu', 's3cret-token-value0', 'S3cret-token-value', 'x'.repeat(1000)]) assert.equal(await check(`Bearer ${t}`), 'wrong');
  });
});

describe('admin API servers', () => {
  test('GET lists the servers with their ids', async () => {
    const { call } = setup();
    const res = await call('GET', '/lb/admin/servers');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.servers.map((s: ServerView) => [s.id, s.url, s.adminState]), [['a1b2c3d4', 'http://127.0.0.1:5001', 'active']]);
  });

  test('POST adds a server as its origin, with weight 1 unless given; the same origin twice is a 409', async () => {
    const { call, pool, calls } = setup();
    const res = await call('POST', '/lb/admin/servers', { url: 'HTTP://LocalHost:5002/', weight: 3 });
    assert.equal(res.status, 201);
    assert.equal(res.json.server.url, 'http://localhost:5002');
    assert.equal(res.json.server.weight, 3);
    assert.equal(res.headers.get('location'), `/lb/admin/servers/${res.json.server.id}`);
    assert.equal((await call('POST', '/lb/admin/servers', { url: 'http://127.0.0.1:5003' })).json.server.weight, 1);
    const again = await call('POST', '/lb/admin/servers', { url: 'http://localhost:5002' });
    assert.equal(again.status, 409);
    assert.match(again.json.error, /already in the pool/);
    assert.equal(pool.servers.length, 3);
    assert.ok(calls.some((c) => c.properties.event === 'admin_server_added'));
  });

  test('an invalid body is a 400 naming each field and its problem', async () => {
    const { call, pool } = setup();
    const res = await call('POST', '/lb/admin/servers', { url: 'http://10.0.0.1:5001/api', weight: 0, weigth: 2 });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json.issues.map((i: { field: string }) => i.field).sort(), ['url', 'weight', 'weigth']);
    assert.match(res.json.error, /^invalid request body: /);
    assert.match(res.json.error, /weight: weight must be at least 1/);
    assert.match(res.json.error, /url: url must be an http or https origin/);
    for (const body of [{ url: 'ftp://x' }, { url: 42 }, { url: 'http://a:1', weight: 1.5 }, {}]) {
      assert.equal((await call('POST', '/lb/admin/servers', body)).status, 400, JSON.stringify(body));
    }
    assert.equal((await call('POST', '/lb/admin/servers', '{not json')).status, 400);
    assert.equal(pool.servers.length, 1);
  });

  test('PATCH changes weight and admin state; an empty change, an unknown state or an unknown id is refused', async () => {
    const { call, pool } = setup();
    const res = await call('PATCH', '/lb/admin/servers/a1b2c3d4', { weight: 5, adminState: 'drain' });
    assert.equal(res.status, 200);
    assert.deepEqual([pool.servers[0]!.weight, pool.servers[0]!.adminState], [5, 'drain']);
    assert.equal((await call('PATCH', '/lb/admin/servers/a1b2c3d4', { adminState: 'disabled' })).json.server.adminState, 'disabled');
    const empty = await call('PATCH', '/lb/admin/servers/a1b2c3d4', {});
    assert.equal(empty.status, 400);
    assert.match(empty.json.error, /give weight, adminState or both/);
    const state = await call('PATCH', '/lb/admin/servers/a1b2c3d4', { adminState: 'off' });
    assert.deepEqual(state.json.issues, [{ field: 'adminState', message: 'adminState must be one of: active, drain, disabled' }]);
    const missing = await call('PATCH', '/lb/admin/servers/nope', { weight: 2 });
    assert.equal(missing.status, 404);
    assert.match(missing.json.error, /no server with id "nope"/);
  });

  test('DELETE drains the server and answers 202; an unknown id is a 404', async () => {
    const { call, pool } = setup();
    const res = await call('DELETE', '/lb/admin/servers/a1b2c3d4');
    assert.equal(res.status, 202);
    assert.equal(res.json.server.adminState, 'drain');
    assert.equal(pool.servers[0]!.removing, true);
    assert.equal((await call('DELETE', '/lb/admin/servers/zzz')).status, 404);
  });

  test('an unknown admin path is a JSON 404 listing the calls', async () => {
    const { call } = setup();
    const res = await call('GET', '/lb/admin/nothing');
    assert.equal(res.status, 404);
    assert.match(res.json.error, /GET or POST \/lb\/admin\/servers/);
  });
});
