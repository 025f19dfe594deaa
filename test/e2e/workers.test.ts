/** WORKERS=2: one port served by two worker processes under a supervisor, on every runtime. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, describe, test } from 'node:test';
import { type Backend, backendServers, closeBackends, startBackends } from '../support/backends.ts';
import { getStats, request, type Stats } from '../support/http.ts';
import { pollUntil, TEST_TIMEOUT_MS } from '../support/poll.ts';
import { isEvent, type LogLine, type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';

interface WorkerField {
  id: number;
  count: number;
  scope: string;
}
type WorkerStats = Stats & { worker: WorkerField };

/** Running (a zombie waiting for its parent, or for PID 1, to reap it counts as gone). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    if (process.platform === 'linux') return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** PIDs of every worker the supervisor started, from its `worker_started` lines. */
function workerPids(proxy: ProxyHandle): number[] {
  return proxy.events('worker_started').map((l: LogLine) => {
    const pid = l.properties?.pid;
    assert.ok(typeof pid === 'number' && Number.isInteger(pid) && pid > 0, `worker_started without a pid: ${JSON.stringify(l)}`);
    return pid;
  });
}

/** /lb/stats over fresh connections until two distinct workers have answered (bounded). */
async function statsFromBothWorkers(proxy: ProxyHandle): Promise<Map<number, WorkerStats>> {
  const seen = new Map<number, WorkerStats>();
  await pollUntil(
    async () => {
      const stats = (await getStats(proxy.url)) as WorkerStats;
      seen.set(stats.worker.id, stats);
      return seen.size >= 2;
    },
    { timeoutMs: 20_000, intervalMs: 5, description: `two distinct worker ids in /lb/stats (seen ${[...seen.keys()].join(', ') || 'none'})` },
  );
  return seen;
}

/** Every PID we saw, killed if a test left it behind, so a failure never leaks processes. */
const seenPids = new Set<number>();
after(() => {
  for (const pid of seenPids) {
    if (!isRunning(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

for (const runtime of selectedRuntimes()) {
  describe(`WORKERS=2 [${runtime.name}]`, () => {
    let backends: Backend[] = [];
    let proxy: ProxyHandle | undefined;

    afterEach(async () => {
      if (proxy) { for (const pid of workerPids(proxy)) seenPids.add(pid); }
      await proxy?.stop();
      proxy = undefined;
      await closeBackends(backends);
      backends = [];
    });

    test(
      'listens once for all workers, proxies, spreads fresh connections over both, and SIGTERM stops every process',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        backends = await startBackends([{ name: 'a' }, { name: 'b' }]);
        proxy = await startProxy(runtime, { WORKERS: '2', ALGORITHM: 'round_robin', BACKEND_SERVERS: backendServers(backends) });

        // One `listening` line, after both workers reported theirs.
        const listening = proxy.events('listening');
        assert.equal(listening.length, 1, 'exactly one listening line');
        assert.equal(listening[0]!.properties?.workers, 2);
        assert.equal(listening[0]!.properties?.port, proxy.port);
        const workerLines = proxy.events('worker_listening');
        assert.deepEqual(workerLines.map((l) => l.properties?.worker).sort(), [1, 2], 'each worker logged its own line, tagged');
        assert.ok(workerLines.every((l) => l.properties?.port === proxy!.port), 'every worker on the one port');
        assert.ok(proxy.logs.indexOf(listening[0]!) > Math.max(...workerLines.map((l) => proxy!.logs.indexOf(l))), 'listening comes last');

        const pids = workerPids(proxy);
        assert.equal(new Set(pids).size, 2, `two worker pids: ${pids.join(', ')}`);
        assert.ok(!pids.includes(proxy.pid), 'workers are separate processes');
        for (const pid of pids) assert.ok(isRunning(pid), `worker ${pid} is running`);

        // Proxies.
        for (let i = 0; i < 4; i++) {
          const res = await request(`${proxy.url}/hello?i=${i}`);
          assert.equal(res.status, 200, res.text());
          assert.ok(['a', 'b'].includes(String(res.headers['x-backend'])));
        }

        // Fresh connections reach both workers; each answers for itself.
        const byWorker = await statsFromBothWorkers(proxy);
        assert.deepEqual([...byWorker.keys()].sort(), [1, 2]);
        // Node before 22.12 has no reusePort, so its supervisor hands connections round; everywhere else the kernel does.
        const spreadBy = runtime.name === 'node20' ? 'the supervisor, in turn' : 'the kernel';
        for (const [id, stats] of byWorker) {
          // Either worker answers for all of them (issue 11's one view), naming itself.
          assert.equal(stats.worker.id, id);
          assert.equal(stats.worker.count, 2);
          assert.match(stats.worker.scope, /^all 2 workers/);
          void spreadBy;
          // The rest of the document is as before; health comes from the supervisor's one prober.
          assert.equal(stats.algorithm, 'round_robin');
          assert.deepEqual(stats.servers.map((s) => s.url), backends.map((b) => b.url));
          assert.ok(stats.servers.every((s) => s.healthy));
          // Issue 9's per-server fields, merged over the workers (each runs its own outlier detection, retries, slow start).
          for (const s of stats.servers as unknown as Record<string, unknown>[]) {
            assert.equal(s.state, 'healthy', JSON.stringify(s));
            for (const field of ['consecutiveFailures', 'ejections', 'retriesTo', 'retriesAway']) assert.equal(typeof s[field], 'number', field);
            for (const field of ['ejectedUntil', 'slowStartShare', 'slowStartUntil']) assert.ok(field in s, field);
          }
        }

        // SIGTERM to the supervisor: every worker drains and exits, then the supervisor exits 0.
        const exit = await proxy.stop();
        assert.deepEqual(exit, { code: 0, signal: null }, `supervisor exit\n${proxy.stderr()}`);
        for (const pid of pids) assert.equal(isRunning(pid), false, `worker ${pid} still running after the supervisor exited`);
        assert.deepEqual(proxy.events('worker_stopped').map((l) => l.properties?.worker).sort(), [1, 2]);
        assert.equal(proxy.events('worker_exited').length, 0, 'no worker died unexpectedly');
      },
    );

    test('demo mode: the supervisor starts the demo backends once and both workers balance over them', { timeout: TEST_TIMEOUT_MS }, async () => {
      proxy = await startProxy(runtime, { WORKERS: '2', BACKEND_SERVERS: undefined });
      assert.equal(proxy.events('demo_mode').length, 1, 'demo backends started once');
      const demoUrls = proxy.events('demo_mode')[0]!.properties?.servers;
      const byWorker = await statsFromBothWorkers(proxy);
      for (const stats of byWorker.values()) assert.deepEqual(stats.servers.map((s) => s.url), demoUrls);
      const res = await request(`${proxy.url}/`);
      assert.equal(res.status, 200);
      assert.match(res.text(), /demo-[12]/);
    });

    test('a worker that dies is logged and restarted; a killed supervisor leaves no worker behind', { timeout: TEST_TIMEOUT_MS }, async () => {
      backends = await startBackends([{ name: 'a' }]);
      proxy = await startProxy(runtime, { WORKERS: '2', BACKEND_SERVERS: backendServers(backends) });
      const [victim] = workerPids(proxy);
      process.kill(victim!, 'SIGKILL');
      const exited = await proxy.waitForLog((l) => isEvent('worker_exited')(l) && l.properties?.pid === victim);
      assert.equal(exited.properties?.signal, 'SIGKILL');
      const id = exited.properties?.worker;
      const restarted = await proxy.waitForLog(
        (l) => isEvent('worker_listening')(l) && l.properties?.worker === id && proxy!.events('worker_started').length === 3,
        TEST_TIMEOUT_MS / 2,
      );
      assert.equal(restarted.properties?.port, proxy.port, 'the restarted worker serves the same port');
      const pids = workerPids(proxy);
      assert.equal(new Set(pids).size, 3, `a new pid for the restarted worker: ${pids.join(', ')}`);
      assert.equal((await request(`${proxy.url}/x`)).status, 200);
      await pollUntil(async () => (await getStats(proxy!.url)).servers.length === 1, { description: 'stats answer' });

      // SIGKILL cannot be forwarded: the workers notice the supervisor is gone and exit by themselves.
      process.kill(proxy.pid, 'SIGKILL');
      const alive = pids.slice(1);
      await pollUntil(() => alive.every((pid) => !isRunning(pid)), {
        timeoutMs: 10_000,
        description: `workers ${alive.join(', ')} gone after the supervisor was killed`,
      });
    });
  });
}
