/** Active probes with rise and fall thresholds, HEALTH_CHECK_EXPECT, passive marking, health logging and the probe loop's start and stop. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatusList, type StatusList } from '../../src/core/config/status-list.ts';
import { describeError } from '../../src/core/proxy/describe-error.ts';
import { HealthChecker, isHealthyStatus } from '../../src/core/upstream/health-checker.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';
import { controlledBody, deferred, FakeUpstream, recordingLogger, untilAborted, type UpstreamHandler } from './fakes.ts';

const URLS = ['http://10.0.0.1:5001', 'http://10.0.0.2:5002', 'http://10.0.0.3:5003'];

function setup(
  handler: UpstreamHandler,
  options: { servers?: number; intervalMs?: number; timeoutMs?: number; rise?: number; fall?: number; expect?: StatusList } = {},
) {
  const pool = new ServerPool(URLS.slice(0, options.servers ?? 1).map((url) => ({ url, weight: 1 })));
  const client = new FakeUpstream(handler);
  const { logger, calls: logs } = recordingLogger();
  const health = new HealthChecker(
    pool,
    client,
    {
      path: '/health',
      intervalMs: options.intervalMs ?? 60_000,
      timeoutMs: options.timeoutMs ?? 1_000,
      ...(options.rise === undefined ? {} : { rise: options.rise }),
      ...(options.fall === undefined ? {} : { fall: options.fall }),
      ...(options.expect === undefined ? {} : { expect: options.expect }),
    },
    logger,
  );
  return { pool, client, logs, health, server: pool.servers[0]! };
}

const status = (code: number) => () => new Response(code === 204 || code === 304 ? null : 'body', { status: code });
const healthyUrls = (pool: ServerPool): string[] => pool.healthy.map((s) => s.url);

/** Resolves after `ms` on a timer: used only where a test must show that nothing happens for a while. */
const quietPeriod = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('health probe outcome', () => {
  test('any status below 500 is healthy, 500 and above is not', () => {
    for (const code of [200, 204, 301, 404, 499]) assert.equal(isHealthyStatus(code), true, String(code));
    for (const code of [500, 502, 503, 599]) assert.equal(isHealthyStatus(code), false, String(code));
  });

  test('a probe answered below 500 keeps the server healthy and records the status', async () => {
    for (const code of [200, 204, 302, 404, 499]) {
      const { health, server, pool } = setup(status(code));
      const result = await health.check(server);
      assert.equal(result.ok, true, String(code));
      assert.equal(result.status, code);
      assert.equal(result.reason, undefined);
      assert.equal(server.healthy, true);
      assert.deepEqual(healthyUrls(pool), [server.url]);
    }
  });

  test('a probe answered with 5xx marks the server unhealthy, with the status as reason', async () => {
    for (const code of [500, 503]) {
      const { health, server, pool } = setup(status(code));
      const result = await health.check(server);
      assert.deepEqual({ ok: result.ok, status: result.status, reason: result.reason }, { ok: false, status: code, reason: `status ${code}` });
      assert.equal(server.healthy, false);
      assert.deepEqual(healthyUrls(pool), []);
    }
  });

  test('a refused connection marks the server unhealthy, with the error code as reason and a null status', async () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5001'), { code: 'ECONNREFUSED' }) });
    const { health, server } = setup(() => {
      throw refused;
    });
    const result = await health.check(server);
    assert.deepEqual({ ok: result.ok, status: result.status, reason: result.reason }, { ok: false, status: null, reason: 'ECONNREFUSED' });
    assert.equal(server.healthy, false);
  });

  test('an error without a code gives its message as reason', async () => {
    const { health, server } = setup(() => Promise.reject(new Error('socket hang up')));
    const result = await health.check(server);
    assert.equal(result.reason, 'socket hang up');
    assert.equal(result.status, null);
    assert.equal(server.healthy, false);
  });

  test('a probe that never answers is aborted after the timeout and marks the server unhealthy', async () => {
    const { health, server, client } = setup(({ init }) => untilAborted(init.signal), { timeoutMs: 20 });
    const result = await health.check(server);
    assert.equal(client.calls[0]!.init.signal.aborted, true, 'the probe request was not aborted');
    assert.deepEqual({ ok: result.ok, status: result.status, reason: result.reason }, { ok: false, status: null, reason: 'no response within 20 ms' });
    assert.ok(result.ms >= 15, `probe gave up after only ${result.ms} ms`);
    assert.equal(server.healthy, false);
  });

  test('the probe is a GET of server origin + health path, no body, no redirects, identified by user-agent', async () => {
    const { health, server, client } = setup(status(200));
    await health.check(server);
    const { url, init } = client.calls[0]!;
    assert.equal(url, 'http://10.0.0.1:5001/health');
    assert.equal(init.method, 'GET');
    assert.equal(init.body, null);
    assert.equal(init.redirect, 'manual');
    assert.equal(init.headers.get('user-agent'), 'fairway-health-check');
  });

  test('the probe response body is cancelled rather than left unread', async () => {
    const body = controlledBody();
    const { health, server } = setup(() => new Response(body.stream, { status: 200 }));
    await health.check(server);
    assert.equal(body.isCancelled, true);
  });

  test('lastHealthCheck records when (ISO time), ok, status (or null) and duration in ms', async () => {
    let answer: UpstreamHandler = status(200);
    const { health, server } = setup((call) => answer(call));
    assert.equal(server.lastHealthCheck, null);

    const before = Date.now();
    await health.check(server);
    const after = Date.now();
    const first = server.lastHealthCheck!;
    assert.match(first.at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(Date.parse(first.at) >= before - 1 && Date.parse(first.at) <= after + 1, `${first.at} outside the probe`);
    assert.equal(first.ok, true);
    assert.equal(first.status, 200);
    assert.equal(typeof first.ms, 'number');
    assert.ok(first.ms >= 0 && Number.isFinite(first.ms));

    answer = () => Promise.reject(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    await health.check(server);
    assert.notEqual(server.lastHealthCheck, first, 'lastHealthCheck was not replaced');
    assert.deepEqual({ ...server.lastHealthCheck!, at: 'x', ms: 0 }, { at: 'x', ok: false, status: null, ms: 0, reason: 'ECONNRESET' });
  });

  test('describeError finds a system error code up to a few causes deep, else uses the message', () => {
    const deep = new Error('outer', { cause: new Error('middle', { cause: Object.assign(new Error('inner'), { code: 'ETIMEDOUT' }) }) });
    assert.equal(describeError(deep), 'ETIMEDOUT');
    assert.equal(describeError(new Error('plain')), 'plain');
    assert.equal(describeError(Object.assign(new Error('not a system code'), { code: 'ERR_INVALID_URL' })), 'not a system code');
    assert.equal(describeError('a string'), 'a string');
  });
});

describe('rise and fall thresholds', () => {
  test('after a first passing probe, fall (default 3) failures in a row take the server out, not fewer', async () => {
    const answers = [200, 503, 503, 503];
    const { health, server } = setup(() => new Response(null, { status: answers.shift()! }));
    await health.check(server);
    await health.check(server);
    await health.check(server);
    assert.equal(server.healthy, true, 'out after two failures');
    await health.check(server);
    assert.equal(server.healthy, false);
  });

  test('a pass in between resets the failure streak', async () => {
    const answers = [200, 503, 503, 200, 503, 503];
    const { health, server } = setup(() => new Response(null, { status: answers.shift()! }));
    for (let i = 0; i < 6; i++) await health.check(server);
    assert.equal(server.healthy, true);
    assert.deepEqual(health.streak(server), { passes: 0, failures: 2 });
  });

  test('a failure in between resets the pass streak of an unhealthy server', async () => {
    const answers = [503, 200, 503, 200];
    const { health, server } = setup(() => new Response(null, { status: answers.shift()! }));
    for (let i = 0; i < 4; i++) await health.check(server);
    assert.equal(server.healthy, false);
  });

  test('the first probe decides at once, so a server down at start gets no traffic for fall rounds', async () => {
    const { health, server } = setup(status(503), { fall: 5 });
    await health.check(server);
    assert.equal(server.healthy, false);
  });

  test('rise and fall of 1 act on every probe', async () => {
    const answers = [200, 503, 200, 503];
    const { health, server } = setup(() => new Response(null, { status: answers.shift()! }), { rise: 1, fall: 1 });
    const seen: boolean[] = [];
    for (let i = 0; i < 4; i++) (await health.check(server), seen.push(server.healthy));
    assert.deepEqual(seen, [true, false, true, false]);
  });

  test('HEALTH_CHECK_EXPECT decides which statuses pass: 200-399 fails a 404 that the default would pass', async () => {
    const list = parseStatusList('200-399');
    assert.ok(list.ok);
    const { health, server } = setup(status(404), { expect: list.list });
    const result = await health.check(server);
    assert.deepEqual({ ok: result.ok, reason: result.reason }, { ok: false, reason: 'status 404' });
    assert.equal(isHealthyStatus(404), true);
    assert.equal(isHealthyStatus(404, list.list), false);
    assert.equal(isHealthyStatus(302, list.list), true);
  });
});

describe('rotation', () => {
  test('a server taken out returns to rotation after rise (default 2) probes pass in a row, not after one', async () => {
    let up = false;
    const { health, pool } = setup(() => new Response(null, { status: up ? 200 : 503 }), { servers: 2 });
    const second = pool.servers[1]!;
    await health.check(second);
    assert.deepEqual(healthyUrls(pool), [URLS[0]]);
    up = true;
    await health.check(second);
    assert.equal(second.healthy, false, 'one passing probe brought the server back');
    await health.check(second);
    assert.equal(second.healthy, true);
    assert.deepEqual(healthyUrls(pool), [URLS[0], URLS[1]]);
  });

  test('markUnhealthy (passive, until outlier detection replaces it) removes the server at once; one passing probe brings it back', async () => {
    const { health, pool } = setup(status(200), { servers: 3 });
    health.markUnhealthy(pool.servers[1]!, 'ECONNRESET');
    assert.equal(pool.servers[1]!.healthy, false);
    assert.deepEqual(healthyUrls(pool), [URLS[0], URLS[2]]);
    await health.check(pool.servers[1]!);
    assert.deepEqual(healthyUrls(pool), URLS);
  });

  test('ServerPool.healthy keeps configured order whatever order servers leave and return in', () => {
    const pool = new ServerPool(URLS.map((url) => ({ url, weight: 1 })));
    const [a, b, c] = pool.servers as [typeof pool.servers[0], typeof pool.servers[0], typeof pool.servers[0]];
    pool.setHealthy(c, false);
    pool.setHealthy(a, false);
    assert.deepEqual(healthyUrls(pool), [URLS[1]]);
    pool.setHealthy(c, true);
    pool.setHealthy(a, true);
    assert.deepEqual(pool.healthy.map((s) => s.id), [0, 1, 2]);
    pool.setHealthy(b, false);
    pool.setHealthy(b, true);
    assert.deepEqual(pool.healthy.map((s) => s.id), [0, 1, 2]);
  });

  test('ServerPool.setHealthy reports whether health changed and rebuilds the list only then', () => {
    const pool = new ServerPool(URLS.map((url) => ({ url, weight: 1 })));
    const list = pool.healthy;
    assert.equal(pool.setHealthy(pool.servers[0]!, true), false);
    assert.equal(pool.healthy, list, 'an unchanged health rebuilt the list');
    assert.equal(pool.setHealthy(pool.servers[0]!, false), true);
    assert.notEqual(pool.healthy, list);
    assert.equal(pool.setHealthy(pool.servers[0]!, false), false);
  });
});

describe('health logging', () => {
  test('a health change is logged once per change, not once per probe, with the streak that caused it', async () => {
    let code = 503;
    const { health, server, logs } = setup(() => new Response(null, { status: code }));
    for (let i = 0; i < 3; i++) await health.check(server);
    assert.equal(logs.length, 1, `logged ${JSON.stringify(logs)}`);
    assert.equal(logs[0]!.level, 'warn');
    assert.deepEqual(logs[0]!.properties, {
      event: 'server_unhealthy',
      server: server.url,
      reason: 'probe failed: status 503',
      source: 'active',
      healthyServers: 0,
    });

    code = 200;
    for (let i = 0; i < 3; i++) await health.check(server);
    assert.equal(logs.length, 2, `logged ${JSON.stringify(logs)}`);
    assert.equal(logs[1]!.level, 'info');
    assert.deepEqual(logs[1]!.properties, {
      event: 'server_healthy',
      server: server.url,
      reason: '2 probes passed in a row, last: status 200',
      source: 'active',
      healthyServers: 1,
    });
  });

  test('a flapping probe inside the thresholds logs nothing; crossing fall logs one line naming the streak', async () => {
    const answers = [200, 503, 200, 503, 503, 200, 503, 503, 503, 503];
    const { health, server, logs } = setup(() => new Response(null, { status: answers.shift()! }));
    for (let i = 0; i < 8; i++) await health.check(server);
    assert.equal(logs.length, 0, 'a change was logged while the thresholds held');
    await health.check(server);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.properties.reason, '3 probes failed in a row, last: status 503');
    await health.check(server);
    assert.equal(logs.length, 1);
  });

  test('probes of a server that stays healthy log nothing', async () => {
    const { health, server, logs } = setup(status(200));
    for (let i = 0; i < 3; i++) await health.check(server);
    assert.deepEqual(logs, []);
  });

  test('passive marking logs once with source "passive" and the forwarding error as reason', () => {
    const { health, server, logs } = setup(status(200));
    health.markUnhealthy(server, 'ECONNREFUSED');
    health.markUnhealthy(server, 'ECONNREFUSED');
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.level, 'warn');
    assert.equal(logs[0]!.properties.source, 'passive');
    assert.equal(logs[0]!.properties.reason, 'ECONNREFUSED');
    assert.equal(logs[0]!.properties.event, 'server_unhealthy');
  });
});

describe('probe loop', () => {
  test('start() probes every server at once, then again each interval; stop() ends probing', async () => {
    const { health, client } = setup(status(200), { servers: 3, intervalMs: 5 });
    health.start();
    assert.deepEqual(client.calls.map((c) => c.url), URLS.map((u) => `${u}/health`), 'the first round did not start synchronously');
    await client.call(6);
    await health.stop();
    const probes = client.calls.length;
    await quietPeriod(40);
    assert.equal(client.calls.length, probes, 'probes continued after stop()');
  });

  test('start() while running does not start a second loop', async () => {
    const { health, client } = setup(status(200), { servers: 1, intervalMs: 60_000 });
    health.start();
    health.start();
    await health.stop();
    assert.equal(client.calls.length, 1);
  });

  test('stop() waits for the round in progress to finish', async () => {
    const answer = deferred<Response>();
    const { health, client, server } = setup(() => answer.promise, { intervalMs: 5 });
    health.start();
    await client.call(1);
    // The probe answers later, on a timer of its own, so a stop() that did not wait would resolve first.
    const timer = setTimeout(() => answer.resolve(new Response('ok')), 10);
    try {
      await health.stop();
      assert.notEqual(server.lastHealthCheck, null, 'stop() resolved before the running probe finished');
    } finally {
      clearTimeout(timer);
    }
    assert.equal(client.calls.length, 1);
  });

  test('rounds never overlap: the next round starts only after the previous one ended', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const releases: (() => void)[] = [];
    const { health, client } = setup(
      () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        return new Promise<Response>((resolve) => releases.push(() => (inFlight--, resolve(new Response('ok')))));
      },
      { intervalMs: 1 },
    );
    health.start();
    for (let n = 1; n <= 4; n++) {
      await client.call(n);
      await quietPeriod(5);
      releases.shift()!();
    }
    await health.stop();
    assert.equal(maxInFlight, 1);
  });

  test('start() again after stop() runs one loop, and stop() then leaves no probe behind', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const { health, client } = setup(
      async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await quietPeriod(2);
        inFlight--;
        return new Response('ok');
      },
      { intervalMs: 5 },
    );
    health.start();
    void health.stop();
    health.start();
    await client.call(8);
    await health.stop();
    const probes = client.calls.length;
    await quietPeriod(40);
    assert.equal(client.calls.length, probes, 'probes continued after the final stop()');
    assert.equal(maxInFlight, 1, 'two probe loops ran at once');
  });
});
