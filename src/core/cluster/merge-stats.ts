/** /lb/stats for the whole balancer with WORKERS>1: every worker's counts summed, its resilience state merged, with a per-worker breakdown. */
import type { LatencySummary } from '../stats/latency-window.ts';
import type { ServerResilienceStats, ServerStats, StatsReport, WorkerBreakdown } from '../stats/stats-report.ts';
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

/** Per-server counts that only ever grow, and so are carried across a worker's restart. */
export interface CarriedServerCounts {
  requests: number;
  errors: number;
  ejections: number;
  retriesTo: number;
  retriesAway: number;
}

export interface CarriedCounts {
  requests: number;
  errors: number;
  readonly servers: Map<string, CarriedServerCounts>;
}

export const noCarry = (): CarriedCounts => ({ requests: 0, errors: 0, servers: new Map() });
const noServerCarry = (): CarriedServerCounts => ({ requests: 0, errors: 0, ejections: 0, retriesTo: 0, retriesAway: 0 });

/** Adds a finished run's counts to what is carried. */
export function carryOver(carried: CarriedCounts, report: StatsReport): void {
  carried.requests += report.totals.requests;
  carried.errors += report.totals.errors;
  for (const s of report.servers) {
    const c = carried.servers.get(s.url) ?? noServerCarry();
    c.requests += s.requests;
    c.errors += s.errors;
    c.ejections += s.ejections ?? 0;
    c.retriesTo += s.retriesTo ?? 0;
    c.retriesAway += s.retriesAway ?? 0;
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

/** One worker's figures for one server: its report's, plus what its earlier runs carried. */
interface WorkerServerView {
  readonly own: ServerStats | undefined;
  readonly carried: CarriedServerCounts;
}

const laterIso = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : Date.parse(b) > Date.parse(a) ? b : a);
/** A worker's report may be up to a second old: an ejection or a ramp it reported that has since ended no longer counts. */
const stillRunning = (until: string | null | undefined, now: number): until is string => typeof until === 'string' && Date.parse(until) > now;

/**
 * Issue 9's fields over all workers, each of which runs its own outlier detection, retry budget and slow start:
 * - `ejections`, `retriesTo`, `retriesAway`: summed (earlier runs' included), like requests and errors;
 * - `consecutiveFailures`: the highest, the worker closest to ejecting it;
 * - `state`: `ejected` while any worker has it ejected, `ejectedUntil` the latest of those ejections' ends, so
 *   some share of traffic still avoids it until then; otherwise the shared health verdict (one prober for all);
 * - `slowStartShare`: the lowest share among the workers still ramping it, `slowStartUntil` the latest ramp's end.
 * Each worker's own values are under `workers`.
 */
function mergeResilience(server: UpstreamServer, views: readonly WorkerServerView[], now: number): ServerResilienceStats {
  let ejectedUntil: string | null = null;
  let consecutiveFailures = 0;
  let ejections = 0;
  let retriesTo = 0;
  let retriesAway = 0;
  let slowStartShare: number | null = null;
  let slowStartUntil: string | null = null;
  for (const { own, carried } of views) {
    ejections += (own?.ejections ?? 0) + carried.ejections;
    retriesTo += (own?.retriesTo ?? 0) + carried.retriesTo;
    retriesAway += (own?.retriesAway ?? 0) + carried.retriesAway;
    consecutiveFailures = Math.max(consecutiveFailures, own?.consecutiveFailures ?? 0);
    if (own?.state === 'ejected' && stillRunning(own.ejectedUntil, now)) ejectedUntil = laterIso(ejectedUntil, own.ejectedUntil);
    if (typeof own?.slowStartShare === 'number' && stillRunning(own.slowStartUntil, now)) {
      slowStartShare = slowStartShare === null ? own.slowStartShare : Math.min(slowStartShare, own.slowStartShare);
      slowStartUntil = laterIso(slowStartUntil, own.slowStartUntil);
    }
  }
  return {
    state: ejectedUntil !== null ? 'ejected' : server.healthy ? 'healthy' : 'unhealthy',
    ejectedUntil,
    consecutiveFailures,
    ejections,
    retriesTo,
    retriesAway,
    slowStartShare,
    slowStartUntil,
  };
}

/** A worker's own issue 9 fields for the breakdown, its counters with its earlier runs' added; absent if it reports none. */
function workerResilience(own: ServerStats, carried: CarriedServerCounts | undefined): Partial<ServerResilienceStats> {
  if (own.state === undefined) return {};
  return {
    state: own.state,
    ejectedUntil: own.ejectedUntil ?? null,
    consecutiveFailures: own.consecutiveFailures ?? 0,
    ejections: (own.ejections ?? 0) + (carried?.ejections ?? 0),
    retriesTo: (own.retriesTo ?? 0) + (carried?.retriesTo ?? 0),
    retriesAway: (own.retriesAway ?? 0) + (carried?.retriesAway ?? 0),
    slowStartShare: own.slowStartShare ?? null,
    slowStartUntil: own.slowStartUntil ?? null,
  };
}

export function mergeStats(input: {
  readonly snapshots: readonly WorkerSnapshot[];
  /** The supervisor's pool: membership, weight, admin state and health are shared, so they come from here. */
  readonly servers: readonly UpstreamServer[];
  readonly uptimeSeconds: number;
  readonly count: number;
  readonly answeredBy: number;
  /** Wall-clock ms, to drop ejections and ramps that ended since a worker reported them; defaults to now. */
  readonly now?: number;
}): StatsReport {
  const { snapshots } = input;
  const now = input.now ?? Date.now();
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
    const views: WorkerServerView[] = [];
    for (const s of snapshots) {
      const own = s.report.servers.find((x) => x.url === server.url);
      const carried = s.carried.servers.get(server.url) ?? noServerCarry();
      views.push({ own, carried });
      r += (own?.requests ?? 0) + carried.requests;
      e += (own?.errors ?? 0) + carried.errors;
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
      ...mergeResilience(server, views, now),
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
      ...workerResilience(x, s.carried.servers.get(x.url)),
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
      scope:
        `all ${input.count} workers: counts are sums over them, per-server state merged (ejected while any worker ejects; the highest consecutiveFailures, the lowest slowStartShare; latency percentiles a request-weighted mean); each worker's own under workers`,
    },
    workers,
  };
}
