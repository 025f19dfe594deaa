/** Wires pool, selection, health, metrics and forwarding into one fetch handler for a runtime to serve. */
import { createAdminRoutes } from './admin/admin-routes.ts';
import type { Config, ServerConfig } from './config/config-types.ts';
import { ForwardingPolicy } from './proxy/forwarding-policy.ts';
import { HealthChecker } from './upstream/health-checker.ts';
import { InFlightTracker } from './upstream/in-flight.ts';
import { logger } from './logging.ts';
import { Metrics } from './stats/metrics.ts';
import type { ClientInfo, HeaderRuleOptions } from './proxy/forwarded-headers.ts';
import { isAdminTarget, requestTarget } from './proxy/request-target.ts';
import { createRequestSelection } from './selection/request-selection.ts';
import { ServerPool } from './upstream/server-pool.ts';
import { buildStatsReport, type StatsReport } from './stats/stats-report.ts';
import type { UpstreamClient } from './upstream/upstream-client.ts';
import { WebForwarder } from './proxy/web-forwarder.ts';
import type { WorkerIdentity } from './workers/worker-identity.ts';

export interface Balancer {
  /** The whole HTTP surface: /lb/* to the admin routes, everything else proxied. */
  fetch(request: Request, client: ClientInfo): Response | Promise<Response>;
  readonly pool: ServerPool;
  readonly health: HealthChecker;
  readonly policy: ForwardingPolicy;
  readonly headerRules: HeaderRuleOptions;
  /** The /lb/ endpoints alone, for a native I/O path that routes proxied traffic itself. */
  readonly admin: { fetch(request: Request): Response | Promise<Response> };
  stats(): StatsReport;
  /** Starts active health checks. */
  start(): void;
  stop(): Promise<void>;
}

/** `worker` is what /lb/stats says about this process (default: the whole of Fairway). */
export function createBalancer(
  config: Config,
  servers: readonly ServerConfig[],
  client: UpstreamClient,
  worker?: WorkerIdentity,
): Balancer {
  const startedAt = performance.now();
  const pool = new ServerPool(servers);
  const selector = createRequestSelection(pool, config);
  const inFlight = new InFlightTracker((server) => selector.loadChanged(server));
  const metrics = new Metrics(pool.servers.length);
  const health = new HealthChecker(
    pool,
    client,
    { path: config.healthCheckPath, intervalMs: config.healthCheckIntervalMs, timeoutMs: config.healthCheckTimeoutMs },
    logger('health'),
  );
  const policy = new ForwardingPolicy({
    pool,
    algorithm: selector,
    inFlight,
    metrics,
    health,
    log: logger('proxy'),
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    maxRequestBodyBytes: config.maxRequestBodyBytes,
  });
  const headerRules: HeaderRuleOptions = { trustProxy: config.trustProxy, preserveHost: config.preserveHost };
  const forwarder = new WebForwarder(policy, client, headerRules);
  const stats = () => buildStatsReport({ algorithm: config.algorithm, startedAt, pool, inFlight, metrics, worker });
  const admin = createAdminRoutes({ stats, healthyServers: () => pool.healthy.length });

  return {
    // Proxied traffic bypasses the router: Hono's HEAD handling would re-wrap upstream responses.
    fetch(request, clientInfo) {
      const target = requestTarget(request.url);
      if (isAdminTarget(target)) return admin.fetch(new Request(`http://fairway.invalid${target}`, { method: request.method }));
      return forwarder.forward(request, clientInfo, target);
    },
    pool,
    health,
    policy,
    headerRules,
    admin,
    stats,
    start: () => health.start(),
    stop: async () => {
      await health.stop();
      selector.close();
      await client.close?.();
    },
  };
}
