/** /lb/stats for the whole balancer with WORKERS>1: sums of every worker's counts, with a per-worker breakdown. */
import type { LatencySummary } from '../stats/latency-window.ts';
import type { ServerStats, StatsReport, WorkerBreakdown } from '../stats/stats-report.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';

const rate = (errors: number, requests: number): number => (requests === 0 ? 0 : Math.round((errors / requests) * 10000) / 10000);
const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/** One worker's latest report, plus what its earlier incarnations had counted before they were restarted. */
export interface WorkerSnapshot {
  readonly id: number;
  readonly report: StatsReport;
  /** Counts of earlier runs of this worker (by server url, and `totals`), kept so sums survive a restart. */
  readonly carried: CarriedCounts;
  readonly receivedAt: number;
}

export interface CarriedCounts {
  requests: number;
  errors: number;
  readonly servers: Map<string, { requests: number; errors: number }>;
}

export const noCarry = (): CarriedCounts => ({ requests: 0, errors: 0, servers: new Map() });

/** Adds a finished run's counts to what is carried. */
export function carryOver(carried: CarriedCounts, report: StatsReport): void {
  carried.requests += report.totals.requests;
  carried.errors += report.totals.errors;
  for (const s of report.servers) {
    const c = carried.servers.get(s.url) ?? { requests: 0, errors: 0 };
    c.requests += s.requests;
    c.errors += s.errors;
    carried.servers.set(s.url, c);
  }
}

/**
 * Latency percentiles cannot be summed: the merged figure is each percentile's mean over the workers,
 * weighted by their requests, an approximation the README names. The per-worker breakdown has the exact ones.
 */
function mergeLatency(parts: readonly { latency: LatencySummary | null; requests: number }[]): LatencySummary | null {
  let weight = 0;
  const sum = { avg: 0, p50: 0, p95: 0, p99: 0 };
  for (const { latency, requests } of parts) {
    if (latency === null) continue;
    const w = Math.max(1, requests);
    weight += w;
    sum.avg += latency.avg * w;
    sum.p50 += latency.p50 * w;
    sum.p95 += latency.p95 * w;
    sum.p99 += latency.p99 * w;
  }
  if (weight === 0) return null;
  return { avg: round(sum.avg / weight), p50: round(sum.p50 / weight), p95: round(sum.p95 / weight), p99: round(sum.p99 / weight) };
}

export function mergeStats(input: {
  readonly snapshots: readonly WorkerSnapshot[];
  /** The supervisor's pool: membership, weight, admin state and health are shared, so they come from here. */
  readonly servers: readonly UpstreamServer[];
  readonly uptimeSeconds: number;
  readonly count: number;
  readonly answeredBy: number;
}): StatsReport {
  const { snapshots } = input;
  const first = snapshots[0]?.report;
  let requests = 0;
  let errors = 0;
  let active = 0;
  let websockets = 0;
  for (const s of snapshots) {
    websockets += s.report.totals.websockets ?? 0;
    requests += s.report.totals.requests + s.carried.requests;
    errors += s.report.totals.errors + s.carried.errors;
    active += s.report.totals.activeConnections;
  }
  const servers: ServerStats[] = input.servers.map((server) => {
    let r = 0;
    let e = 0;
    let a = 0;
    let w = 0;
    const latencies: { latency: LatencySummary | null; requests: number }[] = [];
    for (const s of snapshots) {
      const own = s.report.servers.find((x) => x.url === server.url);
      const carried = s.carried.servers.get(server.url);
      r += (own?.requests ?? 0) + (carried?.requests ?? 0);
      e += (own?.errors ?? 0) + (carried?.errors ?? 0);
      a += own?.activeConnections ?? 0;
      w += own?.websockets ?? 0;
      if (own !== undefined) latencies.push({ latency: own.responseTimeMs, requests: own.requests });
    }
    return {
      id: server.serverId,
      url: server.url,
      weight: server.weight,
      healthy: server.healthy,
      adminState: server.adminState,
      activeConnections: a,
      websockets: w,
      requests: r,
      errors: e,
      errorRate: rate(e, r),
      responseTimeMs: mergeLatency(latencies),
      lastHealthCheck: server.lastHealthCheck,
    };
  });
  const workers: WorkerBreakdown[] = snapshots.map((s) => ({
    id: s.id,
    totals: {
      requests: s.report.totals.requests + s.carried.requests,
      errors: s.report.totals.errors + s.carried.errors,
      activeConnections: s.report.totals.activeConnections,
    },
    servers: s.report.servers.map((x) => ({
      url: x.url,
      requests: x.requests + (s.carried.servers.get(x.url)?.requests ?? 0),
      errors: x.errors + (s.carried.servers.get(x.url)?.errors ?? 0),
      activeConnections: x.activeConnections,
      responseTimeMs: x.responseTimeMs,
    })),
  }));
  return {
    algorithm: first?.algorithm ?? 'round_robin',
    uptimeSeconds: input.uptimeSeconds,
    totals: { requests, errors, errorRate: rate(errors, requests), activeConnections: active, websockets },
    servers,
    worker: {
      id: input.answeredBy,
      count: input.count,
      scope: `all ${input.count} workers: totals and servers are sums over them (latency percentiles a request-weighted mean); each worker's own under workers`,
    },
    workers,
  };
}
