/**
 * Everything under /lb/ wired to the live balancer: the one recording call (stats window, Prometheus, access
 * log), /lb/metrics, the admin API over the pool, and which /lb/ paths the proxy port answers when ADMIN_PORT is set.
 */
import type { Hono } from 'hono';
import type { Config } from '../config/config-types.ts';
import { logger } from '../logging.ts';
import { isAdminTarget } from '../proxy/request-target.ts';
import { createObservability, type Observability } from '../stats/observability.ts';
import type { Metrics } from '../stats/metrics.ts';
import type { StatsReport } from '../stats/stats-report.ts';
import type { ServerPool } from '../upstream/server-pool.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import { createAdminRoutes } from './admin-routes.ts';
import { type BalancerPoolControl, createPoolControl } from './balancer-pool-control.ts';
import type { PoolControl } from './pool-control.ts';

/** With WORKERS>1, what /lb/ serves instead of this worker's own figures (cluster-member.ts). */
export interface SharedView {
  stats(): Promise<StatsReport>;
  metrics(): Promise<string>;
  readonly pool: PoolControl;
}

export interface ControlPlane {
  readonly observability: Observability<UpstreamServer>;
  readonly poolControl: BalancerPoolControl;
  /** Every /lb/ endpoint. */
  readonly routes: Hono;
  /** This worker's own exposition. */
  localMetrics(): string;
  /** From now on /lb/stats, /lb/metrics and the admin API serve the whole process group's view. */
  share(view: SharedView): void;
  /** Does the proxy port answer this target itself? Every /lb/ path, or with ADMIN_PORT only /lb/health and /lb/ready. */
  answersOnProxyPort(target: string): boolean;
}

export function createControlPlane(input: {
  readonly config: Config;
  readonly pool: ServerPool;
  readonly metrics: Metrics;
  readonly stats: () => StatsReport;
  /** WORKERS>1: this worker's number, the `worker` label of every series. */
  readonly worker?: number;
  /** A server was added or removed through the admin API (selection and health follow the pool themselves). */
  readonly membershipChanged?: () => void;
  /** True once shutdown began: /lb/ready answers 503 at once. */
  readonly draining?: () => boolean;
  /** Requests waiting in the admission queue now (fairway_queue_length). */
  readonly queueLength?: () => number;
}): ControlPlane {
  const { config, pool } = input;
  const observability = createObservability<UpstreamServer>({
    window: input.metrics,
    accessLog: config.accessLog,
    worker: input.worker,
    servers: pool.servers,
  });
  const poolControl = createPoolControl(pool, {
    added: (server) => {
      observability.prometheus.addServer(server);
      input.membershipChanged?.();
    },
    removed: (server) => {
      observability.prometheus.removeServer(server);
      input.membershipChanged?.();
    },
  });
  let shared: SharedView | undefined;
  const localMetrics = () => observability.prometheus.render({ servers: pool.servers, queueLength: input.queueLength?.() });
  const adminPool: PoolControl = {
    list: () => (shared?.pool ?? poolControl).list(),
    add: (server) => (shared?.pool ?? poolControl).add(server),
    update: (id, change) => (shared?.pool ?? poolControl).update(id, change),
    remove: (id) => (shared?.pool ?? poolControl).remove(id),
  };
  const routes = createAdminRoutes({
    stats: () => (shared === undefined ? input.stats() : shared.stats()),
    healthyServers: () => pool.healthy.length,
    draining: input.draining,
    prometheus: () => (shared === undefined ? localMetrics() : shared.metrics()),
    adminApi: config.adminToken === undefined ? undefined : loadAdminApi(config.adminToken, adminPool),
  });
  const separateAdminPort = config.adminPort !== undefined;
  return {
    observability,
    poolControl,
    routes,
    localMetrics,
    share: (view) => {
      shared = view;
    },
    answersOnProxyPort(target) {
      if (!isAdminTarget(target)) return false;
      if (!separateAdminPort) return true;
      // Container health checks and outer balancers probe the proxy port: these two answer on both listeners.
      const path = target.split('?', 1)[0];
      return path === '/lb/health' || path === '/lb/ready';
    },
  };
}

/** valibot and the admin API load only with ADMIN_TOKEN set: on Bun, 0.5 MiB less resident without them (bench/repro/bun-rss.mjs). */
async function loadAdminApi(token: string, pool: PoolControl): Promise<Hono> {
  const { createAdminApi } = await import('./admin-api.ts');
  return createAdminApi({ token, pool, log: logger('admin') });
}
