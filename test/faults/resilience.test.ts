/**
 * Issue 9's fault scenarios, against the real proxy on each runtime (FAIRWAY_RUNTIMES). Each is bounded in requests
 * and time and runs on loopback; each prints the errors clients saw (test/faults/BEFORE.md has the figures from before
 * the lifecycle wiring).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { afterEach, describe, test, type TestContext } from 'node:test';
import { limit } from '../conformance/runtime-limits.ts';
import { getStats, request } from '../support/http.ts';
import { pollUntil } from '../support/poll.ts';
import { isEvent, type ProxyEnv, type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { type FaultServer, killAll, startFaultServers } from './fault-server.ts';
import { type LoadResult, startLoad } from './load.ts';

const TIMEOUT = { timeout: 60_000 };

/** Short timings so each scenario plays out in seconds; thresholds stay at their documented defaults unless a test says. */
const FAST: ProxyEnv = {
  HEALTH_CHECK_INTERVAL_MS: '200',
  HEALTH_CHECK_TIMEOUT_MS: '1000',
  UPSTREAM_TIMEOUT_MS: '500',
  OUTLIER_BASE_EJECTION_MS: '2000',
};

const summary = (r: LoadResult) =>
  `${r.sent} sent, ${r.errors} errors ${JSON.stringify(r.statuses)}${r.errorLog.length ? ` first errors: ${r.errorLog.slice(0, 5).join(', ')}` : ''}`;

/** On a failure, what the proxy logged about the failed forwards, so a red run says why. */
function diagnoseFailures(t: TestContext, p: ProxyHandle): void {
  const lines = ['forward_failed', 'no_healthy_server', 'server_unhealthy', 'server_healthy', 'server_ejected', 'queue_refused'].flatMap((e) =>
    p.events(e).slice(0, 4)
  );
  // Every line about a request that failed (its retries included), so a red run shows each try and why it ended.
  const failed = new Set(p.events('forward_failed').slice(0, 4).map((line) => String(line.properties?.requestId)));
  const tries = p.logs.filter((line) => line.properties?.event === 'retry' && failed.has(line.properties.requestId as string));
  for (const line of [...lines, ...tries]) {
    t.diagnostic(`proxy: ${line['@timestamp'] ?? ''} ${line.message ?? ''} ${JSON.stringify(line.properties ?? line)}`.slice(0, 400));
  }
}

for (const runtime of selectedRuntimes()) {
  describe(`fault scenarios [${runtime.name}]`, () => {
    let servers: FaultServer[] = [];
    let proxy: ProxyHandle | undefined;

    afterEach(async () => {
      await proxy?.stop();
      proxy = undefined;
      await killAll(servers);
      servers = [];
    });

    async function setup(count: number, env: ProxyEnv = {}): Promise<ProxyHandle> {
      servers = await startFaultServers(['a', 'b', 'c'].slice(0, count));
      proxy = await startProxy(runtime, { ...FAST, ALGORITHM: 'round_robin', BACKEND_SERVERS: servers.map((s) => s.url).join(','), ...env });
      const p = proxy;
      await pollUntil(async () => (await getStats(p.url)).servers.every((s) => s.lastHealthCheck?.ok === true), { description: 'first passing probes' });
      return p;
    }

    /** Runs steady GET load and calls `during` once `after` requests have been sent. */
    async function underLoad(t: TestContext, p: ProxyHandle, after: number, during: () => Promise<void>, requests = 1_500): Promise<LoadResult> {
      const load = startLoad(p.url, { clients: 6, requests, maxMs: 15_000 });
      await pollUntil(() => load.sent >= after, { timeoutMs: 10_000, description: `${after} requests sent` });
      await during();
      const result = await load.done;
      t.diagnostic(`${runtime.name}: ${summary(result)}`);
      if (result.errors > 0) diagnoseFailures(t, p);
      return result;
    }

    test('one of three servers killed under steady GET load: no client sees an error', TIMEOUT, async (t) => {
      const p = await setup(3);
      const result = await underLoad(t, p, 300, () => servers[1]!.kill());
      assert.equal(result.errors, 0, summary(result));
    });

    test('a server that hangs while its health passes: no errors, a handful of slow requests, and it stays out', TIMEOUT, async (t) => {
      const p = await setup(3, { OUTLIER_BASE_EJECTION_MS: '60000' });
      const b = servers[1]!;
      const result = await underLoad(t, p, 200, async () => void (b.mode = 'hang'));
      assert.equal(result.errors, 0, summary(result));
      assert.ok(b.counts.hung <= 5 + 6, `${b.counts.hung} requests hung on b: it was not kept out`);
      assert.ok(result.slow <= 5 + 6, `${result.slow} slow requests`);
    });

    test('a server that resets connections: traffic moves away, and returns after its ejection once it recovers', TIMEOUT, async (t) => {
      const p = await setup(3);
      const b = servers[1]!;
      const result = await underLoad(t, p, 200, async () => {
        b.mode = 'reset';
        await pollUntil(() => b.counts.reset >= 5, { description: 'b reset 5 requests' });
        const resets = b.counts.reset;
        b.mode = 'ok';
        const answered = b.counts.answered;
        // The bounded load may have ended by the time the ejection does: each poll sends a request of its own, so
        // round robin reaches b as soon as it is back in rotation.
        await pollUntil(async () => {
          await request(`${p.url}/ok`, { timeoutMs: 2_000 }).catch(() => undefined);
          return b.counts.answered > answered ? true : undefined;
        }, { timeoutMs: 10_000, description: 'b back in rotation after its ejection' });
        assert.ok(b.counts.reset - resets <= 6, 'b kept getting traffic while resetting');
      }, 3_000);
      assert.equal(result.errors, 0, summary(result));
    });

    test('a server answering a burst of 503s: with RETRY_ON_STATUS and OUTLIER_COUNT_5XX nobody sees them', TIMEOUT, async (t) => {
      const p = await setup(3, { RETRY_ON_STATUS: '503', OUTLIER_COUNT_5XX: 'true' });
      const b = servers[1]!;
      const result = await underLoad(t, p, 200, async () => void (b.burst503 = 50));
      assert.equal(result.errors, 0, summary(result));
      assert.ok(b.burst503 > 0, 'b kept getting traffic through its 503 burst: it was not ejected');
    });

    test('a flapping health endpoint: the thresholds hold, and the log has one line per change', TIMEOUT, async () => {
      const p = await setup(3);
      const b = servers[1]!;
      b.healthPattern = [200, 500];
      const probes = b.counts.probes;
      await pollUntil(() => b.counts.probes >= probes + 10, { timeoutMs: 10_000, description: '10 flapping probes' });
      assert.equal(p.events('server_unhealthy').length, 0, 'alternating probes crossed fall=3');
      b.healthPattern = [500];
      await p.waitForLog(isEvent('server_unhealthy'));
      b.healthPattern = [200];
      await p.waitForLog(isEvent('server_healthy'));
      const afterChange = b.counts.probes;
      await pollUntil(() => b.counts.probes >= afterChange + 5, { description: '5 more passing probes' });
      assert.equal(p.events('server_unhealthy').length, 1);
      assert.equal(p.events('server_healthy').length, 1);
    });

    test('all servers down: fast 503s; then all up again: recovery without a restart', TIMEOUT, async () => {
      const p = await setup(3);
      await killAll(servers);
      await pollUntil(async () => (await request(`${p.url}/`)).status === 503, { timeoutMs: 10_000, description: 'a 503 once all are down' });
      const started = Date.now();
      for (let i = 0; i < 20; i++) assert.equal((await request(`${p.url}/`)).status, 503);
      assert.ok(Date.now() - started < 5_000, '20 answers with no server took seconds: not failing fast');
      await Promise.all(servers.map((s) => s.start()));
      await pollUntil(async () => (await request(`${p.url}/`)).status === 200, { timeoutMs: 10_000, description: 'a 200 once they are back' });
    });

    test('a rolling restart of all three servers under load: no client sees an error', TIMEOUT, async (t) => {
      const p = await setup(3);
      const result = await underLoad(t, p, 200, async () => {
        for (const server of servers) {
          await server.stopGracefully();
          await new Promise((r) => setTimeout(r, 300)); // the server stays down a moment, as in a real deploy
          await server.start();
          await pollUntil(async () => (await getStats(p.url)).servers.every((s) => s.healthy), { timeoutMs: 10_000, description: 'all healthy again' });
        }
      }, 4_000);
      assert.equal(result.errors, 0, summary(result));
    });

    test('a reset on the only server left beside a stopped one: the retry goes back to it on a new connection', TIMEOUT, async () => {
      // What failed on Bun in a rolling restart: one server out, one stopped (refusing, still in rotation until its
      // probes fail), and the last one resetting a request on a kept-alive connection it was closing at that moment.
      // Probes are slowed so the stopped server stays in rotation for the whole test.
      const p = await setup(2, { HEALTH_CHECK_INTERVAL_MS: '60000' });
      const [b, c] = servers as [FaultServer, FaultServer];
      await b.kill();
      for (let i = 0; i < 4; i++) {
        c.resetNext = 1;
        const response = await request(`${p.url}/`);
        assert.equal(response.status, 200, `request ${i}: ${response.status} ${response.body}`);
        assert.equal(c.resetNext, 0, 'c reset the request once');
      }
    });

    test('one request slower than UPSTREAM_TIMEOUT_MS on a one-server pool: that client gets 504, nobody else an error', TIMEOUT, async (t) => {
      const p = await setup(1);
      const a = servers[0]!;
      const load = startLoad(p.url, { clients: 4, requests: 600, maxMs: 10_000 });
      await pollUntil(() => load.sent >= 100, { description: '100 requests sent' });
      a.hangPaths.add('/slow-one');
      const slow = request(`${p.url}/slow-one`, { timeoutMs: 5_000 });
      await pollUntil(() => a.counts.hung >= 1, { description: 'the slow request reached a' });
      assert.equal((await slow).status, 504);
      const result = await load.done;
      t.diagnostic(`${runtime.name}: ${summary(result)}`);
      assert.equal(result.errors, 0, summary(result));
    });

    test('POST bodies under a kill: no server sees a body twice, and only POSTs in flight at the kill may fail', TIMEOUT, async (t) => {
      const p = await setup(3);
      const load = startLoad(p.url, { clients: 4, requests: 800, maxMs: 10_000, method: 'POST', body: (n) => Buffer.from(`body ${n}`) });
      await pollUntil(() => load.sent >= 200, { timeoutMs: 10_000, description: '200 requests sent' });
      await servers[1]!.kill();
      const result = await load.done;
      t.diagnostic(`${runtime.name}: ${summary(result)}`);
      if (result.errors > 0) diagnoseFailures(t, p);
      const seen = new Map<string, number>();
      for (const s of servers) for (const [id, n] of s.bodies) seen.set(id, (seen.get(id) ?? 0) + n);
      const twice = [...seen].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], 'bodies sent more than once');
      // A POST reset mid-flight by the kill may have reached the server and must not be retried (RFC 9110 §9.2.2):
      // at most one such 502 per client; every request refused before reaching it is retried.
      assert.ok(result.errors <= 4, summary(result));
    });

    test(
      'a POST (declared or chunked), or a PUT over RETRY_BUFFER_BYTES, reset on a kept-alive connection after the server read it: sent once',
      TIMEOUT,
      async () => {
        // The reset of a reused kept-alive connection is where an upstream client may resend on its own (Bun's fetch does,
        // for idempotent methods with a buffered body: bench/repro/bun-fetch-retry.mjs; Deno's node:http did for a POST too,
        // until it got a connection per request). A small PUT is the control: it is sent again (by Fairway, or by Bun's
        // fetch itself), so this setup would see a second POST too.
        const p = await setup(1);
        const a = servers[0]!;
        const resendsItself = limit(runtime, 'fetchResendsIdempotent');
        const send = async (id: string, method: string, body: Buffer, chunked = false) => {
          assert.equal((await request(`${p.url}/warm-${id}`)).status, 200); // the pool now holds a kept-alive connection
          a.resetNext = 1;
          const length: Record<string, string> = chunked ? { 'transfer-encoding': 'chunked' } : body.length ? { 'content-length': String(body.length) } : {};
          const response = await request(`${p.url}/${id}`, { method, body: body.length ? body : undefined, headers: { 'x-request-id': id, ...length } });
          const retries = p.events('retry').filter((line) => line.properties?.requestId === id).length;
          return { status: response.status, seen: a.received.get(id) ?? 0, retries };
        };
        const smallPut = await send('small-put', 'PUT', Buffer.alloc(1024, 1));
        assert.deepEqual([smallPut.status, smallPut.seen], [200, 2], 'the control: a small PUT reset after its body is sent again');
        // Bun's fetch resends it itself, uncounted: Fairway saw no failure and logged no retry.
        assert.equal(smallPut.retries, resendsItself ? 0 : 1, resendsItself ? `expected Bun's own resend (${resendsItself})` : 'Fairway retried it');
        const once = [['post', 'POST', 1024, false], ['empty-post', 'POST', 0, false], ['chunked-post', 'POST', 1024, true], [
          'large-put',
          'PUT',
          100 * 1024,
          false,
        ]] as const;
        for (const [id, method, length, chunked] of once) {
          const sent = await send(id, method, Buffer.alloc(length, 2), chunked);
          assert.deepEqual([sent.status, sent.seen, sent.retries], [502, 1, 0], `${id} of ${length} bytes: status, times the server saw it, retries`);
        }
      },
    );
  });
}

/** Graceful shutdown (issue 9): the same bound and the same guarantees on every runtime, with one process or WORKERS=2. */
const SHUTDOWN: ProxyEnv = { SHUTDOWN_DELAY_MS: '1000', SHUTDOWN_TIMEOUT_MS: '2000' };
/** delay + timeout + the margins shutdown.ts allows, plus process start-up slack on a shared machine. */
const SHUTDOWN_BOUND_MS = 1000 + 2000 + 4000;
/** Connection-level outcomes that mean the request was never accepted: the listener was closed, or an idle connection was. */
const NOT_ACCEPTED = new Set(['network: ECONNREFUSED', 'network: ECONNRESET', 'network: socket hang up']);

for (const runtime of selectedRuntimes()) {
  describe(`graceful shutdown [${runtime.name}]`, () => {
    let servers: FaultServer[] = [];
    let proxy: ProxyHandle | undefined;

    afterEach(async () => {
      await proxy?.stop();
      proxy = undefined;
      await killAll(servers);
      servers = [];
    });

    async function setup(env: ProxyEnv): Promise<ProxyHandle> {
      servers = await startFaultServers(['a', 'b', 'c']);
      proxy = await startProxy(runtime, { ...FAST, ...SHUTDOWN, ALGORITHM: 'round_robin', BACKEND_SERVERS: servers.map((s) => s.url).join(','), ...env });
      const p = proxy;
      await pollUntil(async () => (await getStats(p.url)).servers.every((s) => s.lastHealthCheck?.ok === true), { description: 'first passing probes' });
      return p;
    }

    for (const workers of ['1', '2']) {
      test(`SIGTERM under load (WORKERS=${workers}): readiness fails at once, every accepted request completes, exit code 0`, TIMEOUT, async (t) => {
        const p = await setup({ WORKERS: workers });
        for (const s of servers) s.delayMs = 100;
        const load = startLoad(p.url, { clients: 6, requests: 3_000, maxMs: 20_000 });
        await pollUntil(() => load.sent >= 60, { timeoutMs: 10_000, description: '60 requests sent' });
        const exiting = p.stop(SHUTDOWN_BOUND_MS);
        await pollUntil(async () => (await request(`${p.url}/lb/ready`)).status === 503, {
          timeoutMs: 900,
          intervalMs: 20,
          description: 'readiness failing within SHUTDOWN_DELAY_MS',
        });
        const exit = await exiting;
        load.stop();
        const result = await load.done;
        const refused = result.errorLog.filter((e) => NOT_ACCEPTED.has(e)).length;
        t.diagnostic(`${runtime.name}: ${summary(result)}; ${refused} never accepted (connection refused or idle connection closed)`);
        assert.deepEqual(exit, { code: 0, signal: null });
        assert.deepEqual(result.errorLog.filter((e) => !NOT_ACCEPTED.has(e)), [], 'an accepted request failed');
      });
    }

    test('SIGTERM with an open SSE stream and a busy keep-alive client: exits 0 within delay + timeout', TIMEOUT, async (t) => {
      const p = await setup({ SHUTDOWN_DELAY_MS: '0' });
      const sse = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.get(`${p.url}/sse`, (res) => res.once('data', () => resolve(res)));
        req.on('error', reject);
      });
      sse.on('error', () => {});
      const load = startLoad(p.url, { clients: 2, requests: 100_000, maxMs: 20_000 });
      await pollUntil(() => load.sent >= 20, { description: '20 requests sent' });
      const started = Date.now();
      const exit = await p.stop(SHUTDOWN_BOUND_MS);
      t.diagnostic(`${runtime.name}: exited ${Date.now() - started} ms after SIGTERM`);
      load.stop();
      await load.done;
      sse.destroy();
      assert.deepEqual(exit, { code: 0, signal: null }, 'killed: shutdown did not end within its bound');
    });
  });
}
