/** Builds the JSON document served at GET /lb/stats from the live pool, accounting and metrics. */
import type { InFlightTracker } from '../upstream/in-flight.ts';
import type { LatencySummary } from './latency-window.ts';
import type { Metrics } from './metrics.ts';
import type { AlgorithmName } from '../selection/algorithm.ts';
import type { ServerPool } from '../upstream/server-pool.ts';
import type { AdminState } from '../admin/pool-control.ts';
import type { HealthCheckResult, UpstreamServer } from '../upstream/upstream-server.ts';
import { type WorkerIdentity, workerIdentity } from '../workers/worker-identity.ts';

/** Issue 9's per-server fields: where the server stands (active checks, outlier ejection) and the retries around it. */
export interface ServerResilienceStats {
  /** `ejected` while outlier detection keeps it out, whatever its probes say. */
  state: 'healthy' | 'unhealthy' | 'ejected';
  /** ISO time the current ejection ends, or null. */
  ejectedUntil: string | null;
  /** The server's own failures in a row on real traffic (what OUTLIER_CONSECUTIVE_FAILURES counts). */
  consecutiveFailures: number;
  /** Times outlier detection ejected it. */
  ejections: number;
  /** Retries sent to it after another server failed. */
  retriesTo: number;
  /** Requests moved away from it by a retry after it failed. */
  retriesAway: number;
  /** While it ramps up after returning to rotation (SLOW_START_MS): the share of its weight it gets now, 0.1 to 1; else null. */
  slowStartShare: number | null;
  /** ISO time its ramp ends, or null when it is not ramping. */
  slowStartUntil: string | null;
}

export interface ServerStats extends Partial<ServerResilienceStats> {
  /** Stable short id of the origin (server-id.ts): what the admin API names it by. */
  id: string;
  url: string;
  weight: number;
  healthy: boolean;
  /** The operator's state from the admin API, apart from health: active, drain or disabled. */
  adminState: AdminState;
  /** In-flight requests; the JSON name is the documented contract, kept from the original design. */
  activeConnections: number;
  /** Of those, open WebSocket and Upgrade tunnels. */
  websockets: number;
  requests: number;
  errors: number;
  errorRate: number;
  responseTimeMs: LatencySummary | null;
  lastHealthCheck: HealthCheckResult | null;
}

export interface StatsReport {
  algorithm: AlgorithmName;
  uptimeSeconds: number;
  totals: { requests: number; errors: number; errorRate: number; activeConnections: number; websockets: number };
  servers: ServerStats[];
  /** Which process answered, and so what the numbers above cover (with WORKERS>1: all workers, summed). */
  worker: WorkerIdentity;
  /** With WORKERS>1: each worker's own counts, beside the sums above. */
  workers?: WorkerBreakdown[];
}

export interface WorkerBreakdown {
  id: number;
  totals: { requests: number; errors: number; activeConnections: number };
  /** The worker's own figures per server, issue 9's fields included: each worker runs its own outlier detection, retries and slow start. */
  servers:
    ({ url: string; requests: number; errors: number; activeConnections: number; responseTimeMs: LatencySummary | null } & Partial<ServerResilienceStats>)[];
}

const rate = (errors: number, requests: number): number => (requests === 0 ? 0 : Math.round((errors / requests) * 10000) / 10000);

export function buildStatsReport(input: {
  algorithm: AlgorithmName;
  startedAt: number;
  pool: ServerPool;
  inFlight: InFlightTracker;
  metrics: Metrics;
  /** Defaults to the whole process. */
  worker?: WorkerIdentity;
  resilience?: (server: UpstreamServer) => ServerResilienceStats;
  /** Open tunnels, counted per server; none when absent. */
  tunnels?: { count(server?: UpstreamServer): number };
}): StatsReport {
  const totals = input.metrics.totals();
  return {
    algorithm: input.algorithm,
    uptimeSeconds: Math.round((performance.now() - input.startedAt) / 100) / 10,
    totals: {
      requests: totals.requests,
      errors: totals.errors,
      errorRate: rate(totals.errors, totals.requests),
      activeConnections: input.inFlight.total,
      websockets: input.tunnels?.count() ?? 0,
    },
    servers: input.pool.servers.map((server) => {
      const m = input.metrics.server(server);
      return {
        id: server.serverId,
        url: server.url,
        weight: server.weight,
        healthy: server.healthy,
        adminState: server.adminState,
        activeConnections: server.inFlight,
        websockets: input.tunnels?.count(server) ?? 0,
        requests: m.requests,
        errors: m.errors,
        errorRate: rate(m.errors, m.requests),
        responseTimeMs: m.latency,
        lastHealthCheck: server.lastHealthCheck,
        ...input.resilience?.(server),
      };
    }),
    worker: input.worker ?? workerIdentity(1, 1),
  };
}
