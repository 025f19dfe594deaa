/** WORKERS>1: how the merged /lb/stats combines each worker's issue 9 fields (outlier detection, retries, slow start). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { carryOver, mergeStats, noCarry, type WorkerSnapshot } from '../../src/core/cluster/merge-stats.ts';
import type { ServerResilienceStats, ServerStats, StatsReport } from '../../src/core/stats/stats-report.ts';
import { UpstreamServer } from '../../src/core/upstream/upstream-server.ts';

const URL_A = 'http://10.0.0.1:80';
const NOW = Date.parse('2026-12-01T12:00:00.000Z');
const at = (offsetMs: number): string => new Date(NOW + offsetMs).toISOString();

const calm: ServerResilienceStats = {
  state: 'healthy',
  ejectedUntil: null,
  consecutiveFailures: 0,
  ejections: 0,
  retriesTo: 0,
  retriesAway: 0,
  slowStartShare: null,
  slowStartUntil: null,
};

function serverStats(fields: Partial<ServerResilienceStats> = {}): ServerStats {
  return {
    id: 'a',
    url: URL_A,
    weight: 1,
    healthy: true,
    adminState: 'active',
    activeConnections: 0,
    websockets: 0,
    requests: 10,
    errors: 1,
    errorRate: 0.1,
    responseTimeMs: null,
    lastHealthCheck: null,
    ...calm,
    ...fields,
  };
}

function report(fields: Partial<ServerResilienceStats> = {}): StatsReport {
  return {
    algorithm: 'round_robin',
    uptimeSeconds: 1,
    totals: { requests: 10, errors: 1, errorRate: 0.1, activeConnections: 0, websockets: 0 },
    servers: [serverStats(fields)],
    worker: { id: 1, count: 1, scope: 'this process' },
  };
}

const snapshot = (id: number, fields: Partial<ServerResilienceStats> = {}): WorkerSnapshot => ({
  id,
  report: report(fields),
  carried: noCarry(),
  receivedAt: NOW,
});

function merged(snapshots: WorkerSnapshot[], opts: { healthy?: boolean } = {}) {
  const server = new UpstreamServer(0, URL_A, 1);
  server.healthy = opts.healthy ?? true;
  const stats = mergeStats({ snapshots, servers: [server], uptimeSeconds: 1, count: snapshots.length, answeredBy: 1, now: NOW });
  return { server: stats.servers[0]!, workers: stats.workers!, scope: stats.worker.scope };
}

describe('merged /lb/stats with WORKERS>1: issue 9 fields', () => {
  test('retriesTo, retriesAway and ejections are summed over the workers', () => {
    const { server } = merged([snapshot(1, { retriesTo: 2, retriesAway: 1, ejections: 1 }), snapshot(2, { retriesTo: 3, retriesAway: 4, ejections: 2 })]);
    assert.equal(server.retriesTo, 5);
    assert.equal(server.retriesAway, 5);
    assert.equal(server.ejections, 3);
  });

  test('consecutiveFailures is the highest any worker counts', () => {
    const { server } = merged([snapshot(1, { consecutiveFailures: 4 }), snapshot(2, { consecutiveFailures: 1 })]);
    assert.equal(server.consecutiveFailures, 4);
  });

  test('state is ejected while any worker ejects the server, until the latest of their ejections ends', () => {
    const { server } = merged([
      snapshot(1, { state: 'ejected', ejectedUntil: at(30_000) }),
      snapshot(2, { state: 'ejected', ejectedUntil: at(60_000) }),
      snapshot(3),
    ]);
    assert.equal(server.state, 'ejected');
    assert.equal(server.ejectedUntil, at(60_000));
  });

  test('an ejection a worker reported that has ended since is not counted; state is then the shared health verdict', () => {
    const ended = snapshot(1, { state: 'ejected', ejectedUntil: at(-1) });
    assert.deepEqual([merged([ended]).server.state, merged([ended]).server.ejectedUntil], ['healthy', null]);
    const down = merged([ended, snapshot(2, { state: 'unhealthy' })], { healthy: false }).server;
    assert.deepEqual([down.state, down.ejectedUntil], ['unhealthy', null]);
  });

  test('slowStartShare is the lowest share among the workers still ramping, slowStartUntil the latest ramp end', () => {
    const { server } = merged([
      snapshot(1, { slowStartShare: 0.5, slowStartUntil: at(5_000) }),
      snapshot(2, { slowStartShare: 0.25, slowStartUntil: at(2_000) }),
      snapshot(3, { slowStartShare: 0.1, slowStartUntil: at(-1) }),
      snapshot(4),
    ]);
    assert.equal(server.slowStartShare, 0.25);
    assert.equal(server.slowStartUntil, at(5_000));
    const done = merged([snapshot(1), snapshot(2, { slowStartShare: 0.1, slowStartUntil: at(-1) })]).server;
    assert.deepEqual([done.slowStartShare, done.slowStartUntil], [null, null]);
  });

  test('the scope sentence names the merge rules, not only sums', () => {
    const { scope } = merged([snapshot(1), snapshot(2)]);
    assert.match(
      scope,
      /^all 2 workers: counts are sums over them, per-server state merged \(ejected while any worker ejects; the highest consecutiveFailures, the lowest slowStartShare;/,
    );
  });

  test("each worker's own values stay in the per-worker breakdown", () => {
    const { workers } = merged([
      snapshot(1, { state: 'ejected', ejectedUntil: at(30_000), consecutiveFailures: 0, ejections: 1, retriesAway: 2 }),
      snapshot(2, { consecutiveFailures: 3, retriesTo: 2, slowStartShare: 0.5, slowStartUntil: at(1_000) }),
    ]);
    const [one, two] = workers.map((w) => w.servers[0]!);
    assert.deepEqual(
      { state: one!.state, ejectedUntil: one!.ejectedUntil, ejections: one!.ejections, retriesAway: one!.retriesAway },
      { state: 'ejected', ejectedUntil: at(30_000), ejections: 1, retriesAway: 2 },
    );
    assert.deepEqual(
      { state: two!.state, consecutiveFailures: two!.consecutiveFailures, retriesTo: two!.retriesTo, slowStartShare: two!.slowStartShare },
      { state: 'healthy', consecutiveFailures: 3, retriesTo: 2, slowStartShare: 0.5 },
    );
  });

  test("a restarted worker's earlier retries and ejections stay in the sums and in its breakdown, its consecutiveFailures do not", () => {
    const worker = snapshot(1, { retriesTo: 2, retriesAway: 3, ejections: 1, consecutiveFailures: 4 });
    carryOver(worker.carried, worker.report);
    const restarted: WorkerSnapshot = { ...worker, report: report({ retriesTo: 1, retriesAway: 0, ejections: 0, consecutiveFailures: 0 }) };
    const { server, workers } = merged([restarted, snapshot(2, { retriesTo: 1 })]);
    assert.deepEqual(
      { retriesTo: server.retriesTo, retriesAway: server.retriesAway, ejections: server.ejections, consecutiveFailures: server.consecutiveFailures },
      { retriesTo: 4, retriesAway: 3, ejections: 1, consecutiveFailures: 0 },
    );
    const own = workers[0]!.servers[0]!;
    assert.deepEqual({ retriesTo: own.retriesTo, retriesAway: own.retriesAway, ejections: own.ejections }, { retriesTo: 3, retriesAway: 3, ejections: 1 });
    assert.equal(server.requests, 30, 'requests are carried as before');
  });
});
