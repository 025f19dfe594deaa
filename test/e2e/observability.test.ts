/** /lb/metrics, the access log, the admin API and ADMIN_PORT, end to end on every runtime (issue 11). */
// deno-lint-ignore-file no-explicit-any -- the merged /lb/stats documents are read as loose JSON
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Backend, backendServers, closeBackends, startBackends } from '../support/backends.ts';
import { type HttpResponse, request } from '../support/http.ts';
import { pollUntil, TEST_TIMEOUT_MS } from '../support/poll.ts';
import { type ParsedFamily, parsePrometheusText } from '../support/prometheus-text.ts';
import { type LogLine, type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';

const TOKEN = 'e2e-admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

const family = (families: ParsedFamily[], name: string): ParsedFamily => {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `family ${name} in the exposition`);
  return found;
};

/** Sum of a counter family's samples whose labels include `labels`. */
function counterSum(families: ParsedFamily[], name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const m of family(families, name).metrics) {
    if (Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)) sum += Number(m.value);
  }
  return sum;
}

const accessLine = (_proxy: ProxyHandle, requestId: string) => (l: LogLine) => l.requestId === requestId;

async function json(url: string, method: string, body?: unknown, headers: Record<string, string> = auth): Promise<HttpResponse> {
  return request(url, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

for (const runtime of selectedRuntimes()) {
  describe(`observability [${runtime.name}]`, { timeout: TEST_TIMEOUT_MS * 3 }, () => {
    let backends: Backend[];
    let proxy: ProxyHandle;

    before(async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      proxy = await startProxy(runtime, {
        BACKEND_SERVERS: backendServers(backends.slice(0, 2)),
        ADMIN_TOKEN: TOKEN,
        HEALTH_CHECK_INTERVAL_MS: '200',
      });
    });
    after(async () => {
      await proxy?.stop();
      await closeBackends(backends ?? []);
    });

    test("GET /lb/metrics is the text exposition 0.0.4, parsed by a real parser, counting each server's requests", async () => {
      for (let i = 0; i < 6; i++) assert.equal((await request(`${proxy.url}/metrics-check/${i}`)).status, 200);
      await pollUntil(() => backends[0]!.healthChecks > 0 && backends[1]!.healthChecks > 0 || undefined, { description: 'a probe to each server' });
      const res = await request(`${proxy.url}/lb/metrics`);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const families = parsePrometheusText(res.text());
      const perServer = backends.slice(0, 2).map((b) => counterSum(families, 'fairway_requests_total', { server: b.url, code_class: '2xx', method: 'GET' }));
      assert.deepEqual(perServer, backends.slice(0, 2).map((b) => b.requests.filter((r) => r.url.startsWith('/metrics-check/')).length));
      assert.equal(perServer[0]! + perServer[1]!, 6);
      for (const b of backends.slice(0, 2)) {
        assert.ok(counterSum(families, 'fairway_health_checks_total', { server: b.url, result: 'success' }) >= 1, `probes of ${b.url} counted`);
        const up = family(families, 'fairway_upstream_up').metrics.find((m) => m.labels?.server === b.url);
        assert.equal(up?.value, '1');
      }
      assert.equal(family(families, 'fairway_request_duration_seconds').type, 'HISTOGRAM');
      assert.ok(!res.text().includes('/metrics-check/'), 'no request path in any label');
    });

    test('the access log writes one JSON line per request with client, status, server, timings and bytes', async () => {
      const res = await request(`${proxy.url}/echo?x=1`, {
        method: 'POST',
        body: 'hello access log',
        headers: { 'user-agent': 'e2e-agent/1.0', referer: 'http://ref.example/page' },
      });
      assert.equal(res.status, 200);
      const requestId = String(res.headers['x-request-id']);
      const line = await proxy.waitForLog(accessLine(proxy, requestId));
      assert.equal(line.method, 'POST');
      assert.equal(line.path, '/echo?x=1');
      assert.equal(line.status, 200);
      assert.equal(line.client, '127.0.0.1');
      assert.ok(backends.slice(0, 2).some((b) => b.url === line.server), `server ${String(line.server)}`);
      assert.equal(line.attempts, 1);
      assert.equal(line.bytesIn, 16);
      // Every runtime meters the body while UPSTREAM_READ_TIMEOUT_MS applies (the default), so bytes out is exact.
      assert.equal(line.bytesOut, res.body.length);
      assert.equal(line.userAgent, 'e2e-agent/1.0');
      assert.equal(line.referer, 'http://ref.example/page');
      assert.ok(typeof line.upstreamHeadersMs === 'number' && typeof line.totalMs === 'number' && line.totalMs >= line.upstreamHeadersMs);
      assert.ok(!proxy.events('request').length, 'the per-request debug line is gone');
    });

    test('the admin API refuses a missing or wrong token with 401 and a log line that never shows the token', async () => {
      const missing = await request(`${proxy.url}/lb/admin/servers`);
      assert.equal(missing.status, 401);
      const wrong = await request(`${proxy.url}/lb/admin/servers`, { headers: { authorization: 'Bearer not-the-right-token-at-all' } });
      assert.equal(wrong.status, 401);
      await pollUntil(() => (proxy.events('admin_unauthorized').length >= 2 ? true : undefined), { description: 'two admin_unauthorized lines' });
      const reasons = proxy.events('admin_unauthorized').map((l) => l.properties?.reason);
      assert.ok(reasons.includes('missing') && reasons.includes('wrong'), JSON.stringify(reasons));
      assert.ok(!proxy.stdout().includes('not-the-right-token-at-all') && !proxy.stdout().includes(TOKEN), 'no token in the output');
    });

    test('the admin API adds a server, changes its weight, drains one so it gets no new requests, and deletes one', async () => {
      const [a, b, c] = backends as [Backend, Backend, Backend];
      const listed = (await json(`${proxy.url}/lb/admin/servers`, 'GET')).json<{ servers: { id: string; url: string }[] }>().servers;
      assert.deepEqual(listed.map((s) => s.url), [a.url, b.url]);

      const added = await json(`${proxy.url}/lb/admin/servers`, 'POST', { url: c.url, weight: 2 });
      assert.equal(added.status, 201, added.text());
      const cId = added.json<{ server: { id: string } }>().server.id;
      const bad = await json(`${proxy.url}/lb/admin/servers`, 'POST', { url: 'ftp://x', weight: 0 });
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.json<{ issues: { field: string }[] }>().issues.map((i) => i.field).sort(), ['url', 'weight']);

      const before = c.requests.length;
      for (let i = 0; i < 8; i++) await request(`${proxy.url}/after-add/${i}`);
      assert.ok(c.requests.length > before, 'the added server takes traffic');

      const patched = await json(`${proxy.url}/lb/admin/servers/${cId}`, 'PATCH', { weight: 5 });
      assert.equal(patched.status, 200);
      assert.equal(patched.json<{ server: { weight: number } }>().server.weight, 5);

      const aId = listed[0]!.id;
      const drained = await json(`${proxy.url}/lb/admin/servers/${aId}`, 'PATCH', { adminState: 'drain' });
      assert.equal(drained.status, 200);
      const aBefore = a.requests.length;
      for (let i = 0; i < 10; i++) assert.equal((await request(`${proxy.url}/while-drained/${i}`)).status, 200);
      assert.equal(a.requests.length, aBefore, 'a drained server gets no new requests');
      const stats = (await request(`${proxy.url}/lb/stats`)).json<{ servers: { url: string; adminState: string }[] }>();
      assert.equal(stats.servers.find((s) => s.url === a.url)?.adminState, 'drain');
      assert.equal((await json(`${proxy.url}/lb/admin/servers/${aId}`, 'PATCH', { adminState: 'active' })).status, 200);

      const deleted = await json(`${proxy.url}/lb/admin/servers/${cId}`, 'DELETE');
      assert.equal(deleted.status, 202);
      const after = (await json(`${proxy.url}/lb/admin/servers`, 'GET')).json<{ servers: { url: string }[] }>().servers;
      assert.deepEqual(after.map((s) => s.url), [a.url, b.url]);
      const cBefore = c.requests.length;
      for (let i = 0; i < 6; i++) await request(`${proxy.url}/after-delete/${i}`);
      assert.equal(c.requests.length, cBefore, 'a deleted server gets no requests');
      const metrics = (await request(`${proxy.url}/lb/metrics`)).text();
      assert.ok(!metrics.includes(`server="${c.url}"`), 'a removed server leaves the exposition');
    });
  });

  describe(`observability settings [${runtime.name}]`, { timeout: TEST_TIMEOUT_MS * 2 }, () => {
    let backends: Backend[];
    before(async () => {
      backends = await startBackends([{ name: 'a' }]);
    });
    after(async () => {
      await closeBackends(backends ?? []);
    });

    test('ACCESS_LOG=combined writes the nginx combined format', async () => {
      const proxy = await startProxy(runtime, { BACKEND_SERVERS: backendServers(backends), ACCESS_LOG: 'combined' });
      try {
        const res = await request(`${proxy.url}/combined/path?q=1`, { headers: { 'user-agent': 'agent "quoted"', referer: 'http://r.example/' } });
        // Exact on every runtime: the body is metered while UPSTREAM_READ_TIMEOUT_MS applies (the default).
        const bytes = String(res.body.length);
        const pattern = new RegExp(
          String
            .raw`^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET /combined/path\?q=1 HTTP/1\.1" 200 ${bytes} "http://r\.example/" "agent \\x22quoted\\x22"$`,
          'm',
        );
        await pollUntil(() => (pattern.test(proxy.stdout()) ? true : undefined), { description: 'the combined line' });
      } finally {
        await proxy.stop();
      }
    });

    test('ACCESS_LOG=off writes no access line', async () => {
      const proxy = await startProxy(runtime, { BACKEND_SERVERS: backendServers(backends), ACCESS_LOG: 'off' });
      try {
        const res = await request(`${proxy.url}/quiet`);
        // The shutdown line comes after any buffered access line would have been flushed.
        await proxy.stop();
        assert.ok(!proxy.logs.some((l) => l.requestId === res.headers['x-request-id']), 'no access line');
      } finally {
        await proxy.stop();
      }
    });

    test('with ADMIN_PORT, /lb/* moves to the admin listener and the proxy port proxies it, except /lb/health and /lb/ready', async () => {
      const proxy = await startProxy(runtime, { BACKEND_SERVERS: backendServers(backends), ADMIN_PORT: '0', ADMIN_TOKEN: TOKEN });
      try {
        const listening = await proxy.waitForLog((l) => l.properties?.event === 'admin_listening');
        const admin = `http://127.0.0.1:${String(listening.properties?.port)}`;
        const a = backends[0]!;
        const seen = a.requests.length;
        const proxied = await request(`${proxy.url}/lb/stats`);
        assert.equal(proxied.headers['x-backend'], 'a', 'the proxy port forwards /lb/stats to a server');
        assert.equal(a.requests.at(-1)?.url, '/lb/stats');
        assert.equal(a.requests.length, seen + 1);
        for (const path of ['/lb/health', '/lb/ready']) {
          assert.equal((await request(`${proxy.url}${path}`)).status, 200, `${path} on the proxy port`);
          assert.equal((await request(`${admin}${path}`)).status, 200, `${path} on the admin port`);
        }
        assert.equal(a.requests.length, seen + 1, 'health and ready were answered, not proxied');
        const stats = await request(`${admin}/lb/stats`);
        assert.equal(stats.status, 200);
        assert.ok(Array.isArray(stats.json<{ servers: unknown[] }>().servers));
        assert.match(String((await request(`${admin}/lb/metrics`)).headers['content-type']), /version=0\.0\.4/);
        assert.equal((await request(`${admin}/lb/admin/servers`, { headers: auth })).status, 200);
      } finally {
        await proxy.stop();
      }
    });
  });
}

/** Requests on fresh connections (the kernel spreads them over the workers) until both workers have answered /lb/stats. */
async function scrapesFromBothWorkers(url: string): Promise<Map<number, Record<string, any>>> {
  const seen = new Map<number, Record<string, any>>();
  await pollUntil(async () => {
    const stats = (await request(`${url}/lb/stats`)).json<Record<string, any>>();
    seen.set(stats.worker.id, stats);
    return seen.size === 2 ? true : undefined;
  }, { description: 'a /lb/stats answer from each worker', timeoutMs: 20_000 });
  return seen;
}

for (const runtime of selectedRuntimes()) {
  describe(`one view across WORKERS=2 [${runtime.name}]`, { timeout: TEST_TIMEOUT_MS * 2 }, () => {
    let backends: Backend[];
    let proxy: ProxyHandle;
    before(async () => {
      backends = await startBackends([{ name: 'a' }, { name: 'b' }]);
      proxy = await startProxy(runtime, { WORKERS: '2', BACKEND_SERVERS: backendServers(backends), ADMIN_TOKEN: TOKEN, HEALTH_CHECK_INTERVAL_MS: '200' });
    });
    after(async () => {
      await proxy?.stop();
      await closeBackends(backends ?? []);
    });

    test('/lb/stats sums every worker with a per-worker breakdown, and either worker answers the same figures', async () => {
      for (let i = 0; i < 20; i++) assert.equal((await request(`${proxy.url}/spread/${i}`)).status, 200);
      const served = backends.map((b) => b.requests.filter((r) => r.url.startsWith('/spread/')).length);
      await pollUntil(
        async () => ((await request(`${proxy.url}/lb/stats`)).json<{ totals: { requests: number } }>().totals.requests === 20 ? true : undefined),
        {
          description: 'totals.requests reaching 20',
        },
      );
      const byWorker = await scrapesFromBothWorkers(proxy.url);
      for (const [id, stats] of byWorker) {
        assert.equal(stats.totals.requests, 20, `worker ${id} answers the sum`);
        assert.deepEqual(stats.servers.map((s: { requests: number }) => s.requests), served, `worker ${id}: per-server sums match what the servers saw`);
        assert.deepEqual(stats.workers.map((w: { id: number }) => w.id), [1, 2]);
        assert.equal(stats.workers.reduce((n: number, w: { totals: { requests: number } }) => n + w.totals.requests, 0), 20);
      }
      const [one, two] = [...byWorker.values()];
      assert.deepEqual(one!.totals, two!.totals);
      assert.deepEqual(one!.workers.map((w: any) => w.totals), two!.workers.map((w: any) => w.totals));
    });

    test('/lb/metrics labels every series with its worker (no unlabelled sums), and only the supervisor probes, once per interval per server', async () => {
      const text = (await request(`${proxy.url}/lb/metrics`)).text();
      const families = parsePrometheusText(text);
      // Raw lines: the parser folds a histogram's labelled series together.
      for (const line of text.split('\n')) if (line !== '' && !line.startsWith('#')) assert.match(line, /\{worker="(1|2|supervisor)"/, line);
      for (const f of families) assert.equal(family(families, f.name).help.length > 0, true, `${f.name} once, with its HELP`);
      const requests = family(families, 'fairway_requests_total').metrics;
      assert.deepEqual([...new Set(requests.map((m) => m.labels!.worker))].sort(), ['1', '2']);
      assert.equal(counterSum(families, 'fairway_requests_total', { code_class: '2xx' }) >= 20, true);
      for (const b of backends) {
        const byWorkers = ['1', '2'].map((w) => counterSum(families, 'fairway_health_checks_total', { server: b.url, worker: w }));
        assert.deepEqual(byWorkers, [0, 0], 'workers send no probes of their own');
        const bySupervisor = counterSum(families, 'fairway_health_checks_total', { server: b.url, worker: 'supervisor' });
        // One prober: the server saw the supervisor's probes and no more (one may be on its way while the scrape is answered).
        assert.ok(
          bySupervisor >= 1 && b.healthChecks >= bySupervisor && b.healthChecks <= bySupervisor + 1,
          `${b.name}: ${b.healthChecks} probes seen, ${bySupervisor} sent`,
        );
      }
    });

    test('an admin change made through one worker applies to every worker: a drained server stops getting requests', async () => {
      const [a] = backends as [Backend, Backend];
      const list = (await json(`${proxy.url}/lb/admin/servers`, 'GET')).json<{ servers: { id: string; url: string }[] }>().servers;
      const aId = list.find((s) => s.url === a.url)!.id;
      assert.equal((await json(`${proxy.url}/lb/admin/servers/${aId}`, 'PATCH', { adminState: 'drain' })).status, 200);
      await pollUntil(async () => {
        const before = a.requests.length;
        for (let i = 0; i < 10; i++) await request(`${proxy.url}/drained/${i}`);
        return a.requests.length === before ? true : undefined;
      }, { description: 'ten requests on fresh connections, none to the drained server', timeoutMs: 15_000 });
      const byWorker = await scrapesFromBothWorkers(proxy.url);
      for (const stats of byWorker.values()) assert.equal(stats.servers.find((s: { url: string }) => s.url === a.url).adminState, 'drain');
    });

    test('a restarted worker starts from the shared pool, and the sums keep what its predecessor counted', async () => {
      const [a] = backends as [Backend, Backend];
      // Every request so far reached a server: once both workers report all of them, the victim's counts are with the supervisor.
      const before = backends.reduce((n, b) => n + b.requests.length, 0);
      await pollUntil(async () => {
        const byWorker = await scrapesFromBothWorkers(proxy.url);
        return [...byWorker.values()].every((s) => s.totals.requests === before) ? true : undefined;
      }, { description: `totals of ${before} before the restart`, timeoutMs: 15_000 });
      const victim = proxy.events('worker_started').at(-1)!.properties!.pid as number;
      const victimId = proxy.events('worker_started').at(-1)!.properties!.worker;
      const aAtKill = a.requests.length;
      process.kill(victim, 'SIGKILL');
      let restarted = false;
      const listening = proxy.waitForLog(
        (l) => l.properties?.event === 'worker_listening' && l.properties?.worker === victimId && proxy.events('worker_started').length === 3,
        TEST_TIMEOUT_MS / 2,
      ).then(() => {
        restarted = true;
      });
      // Fresh connections all through the restart, so some reach the new worker the moment it listens: even its
      // first requests must keep the drain. Bounded: 20 more each once it has said it listens, or half the test's time.
      const until = Date.now() + TEST_TIMEOUT_MS / 2;
      let sent = 0;
      // Answered by a live worker and so counted; a connection the killed worker had accepted is reset instead.
      let answered = 0;
      const client = async () => {
        for (let afterListening = 0; afterListening < 20 && Date.now() < until;) {
          if (restarted) afterListening++;
          if (await request(`${proxy.url}/during-restart/${sent++}`, { timeoutMs: 5000 }).then(() => true, () => false)) answered++;
        }
      };
      await Promise.all([listening, client(), client(), client(), client()]);
      assert.equal(a.requests.length, aAtKill, `none of ${sent} requests during the restart reached the drained server`);
      // Still drained in the new worker: fresh connections reach both workers, none reaches the drained server.
      const aBefore = a.requests.length;
      for (let i = 0; i < 12; i++) assert.equal((await request(`${proxy.url}/after-restart/${i}`)).status, 200);
      assert.equal(a.requests.length, aBefore, 'the restarted worker kept the drain');
      await pollUntil(async () => {
        const byWorker = await scrapesFromBothWorkers(proxy.url);
        return [...byWorker.values()].every((s) => s.totals.requests === before + answered + 12) ? true : undefined;
      }, { description: `totals of ${before + answered + 12}, the killed worker's counts included`, timeoutMs: 15_000 });
    });
  });
}
