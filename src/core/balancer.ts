/** Wires pool, selection, health, metrics and admission into what a runtime serves. */
import { createAdminRoutes } from './admin/admin-routes.ts';
import type { Config, ServerConfig } from './config/config-types.ts';
import { Admission } from './proxy/admission.ts';
import type { ExchangeObserver } from './proxy/exchange.ts';
import { HealthChecker } from './upstream/health-checker.ts';
import { InFlightTracker } from './upstream/in-flight.ts';
import { logger } from './logging.ts';
import { Metrics } from './stats/metrics.ts';
import { isAdminTarget, requestTarget } from './proxy/request-target.ts';
import type { ClientInfo } from './runtime/contracts.ts';
import { createRequestSelection } from './selection/request-selection.ts';
import { ServerPool } from './upstream/server-pool.ts';
import { buildStatsReport, type StatsReport } from './stats/stats-report.ts';
import type { UpstreamClient } from './upstream/upstream-client.ts';
import { WebForwarder } from './proxy/web-forwarder.ts';
import type { WorkerIdentity } from './workers/worker-identity.ts';

/** What a runtime needs from the balancer. */
export interface Balancer {
  /** The whole HTTP surface on the Web path: /lb/* to the admin routes, everything else proxied. */
  fetch(request: Request, client: ClientInfo): Response | Promise<Response>;
  /** Where a native I/O path turns each proxied request into an Exchange (or a refusal). */
  readonly admission: Admission;
  /** The /lb/ endpoints alone, for a native I/O path that routes proxied traffic itself. */
  readonly admin: { fetch(request: Request): Response | Promise<Response> };
  stats(): StatsReport;
  /** Starts active health checks. */
  start(): void;
  stop(): Promise<void>;
}

/** The balancer and the parts it is wired from; tests reach the parts through this, runtimes only see `Balancer`. */
export interface BalancerParts {
  readonly balancer: Balancer;
  readonly pool: ServerPool;
  readonly health: HealthChecker;
}

/** `worker` is what /lb/stats says about this process (default: the whole of Fairway). */
export function createBalancer(config: Config, servers: readonly ServerConfig[], client: UpstreamClient, worker?: WorkerIdentity): Balancer {
  return assembleBalancer(config, servers, client, worker).balancer;
}

/** `observers` hear of every exchange at its exit (an access log, Prometheus counters, a test). */
export function assembleBalancer(
  config: Config,
  servers: readonly ServerConfig[],
  client: UpstreamClient,
  worker?: WorkerIdentity,
  observers: readonly ExchangeObserver[] = [],
): BalancerParts {
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
  const admission = new Admission({
    pool,
    algorithm: selector,
    inFlight,
    metrics,
    health,
    log: logger('proxy'),
    headerRules: { trustProxy: config.trustProxy, preserveHost: config.preserveHost },
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    maxRequestBodyBytes: config.maxRequestBodyBytes,
    responseBufferBytes: config.responseBufferBytes,
    observers,
  });
  // Built on first use: a runtime with a native I/O path (Node) never sends proxied traffic through `fetch`.
  let web: WebForwarder | undefined;
  const stats = () => buildStatsReport({ algorithm: config.algorithm, startedAt, pool, inFlight, metrics, worker });
  const admin = createAdminRoutes({ stats, healthyServers: () => pool.healthy.length });

  const balancer: Balancer = {
    // Proxied traffic bypasses the router: Hono's HEAD handling would re-wrap upstream responses.
    fetch(request, clientInfo) {
      const target = requestTarget(request.url);
      if (isAdminTarget(target)) return admin.fetch(new Request(`http://fairway.invalid${target}`, { method: request.method }));
      return (web ??= new WebForwarder(admission, client)).forward(request, clientInfo, target);
    },
    admission,
    admin,
    stats,
    start: () => health.start(),
    stop: async () => {
      await health.stop();
      selector.close();
      await client.close?.();
    },
  };
  return { balancer, pool, health };
}
