/** Wires pool, selection, health, metrics and admission into what a runtime serves. */
import { createAdminRoutes } from './admin/admin-routes.ts';
import type { Config, ServerConfig } from './config/config-types.ts';
import { Admission } from './proxy/admission.ts';
import type { ExchangeObserver } from './proxy/exchange.ts';
import type { Resilience } from './proxy/resilience.ts';
import { HealthChecker } from './upstream/health-checker.ts';
import { healthCheckOptions } from './config/resilience-options.ts';
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
import { createResilience } from './resilience-wiring.ts';
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
  /** True once shutdown began: /lb/ready fails, and a native I/O path sends `Connection: close`. */
  readonly draining: boolean;
  /** Shutdown begins (see shutdown.ts). */
  drain(): void;
  /** Requests in flight now. */
  inFlight(): number;
  /** The shutdown deadline passed: ends every exchange still open and answers queued requests. */
  terminate(): void;
  /** Starts active health checks. */
  start(): void;
  stop(): Promise<void>;
}

/** The balancer and the parts it is wired from; tests reach the parts through this, runtimes only see `Balancer`. */
export interface BalancerParts {
  readonly balancer: Balancer;
  readonly pool: ServerPool;
  readonly health: HealthChecker;
  readonly resilience: Resilience;
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
  client.configure?.({ connectTimeoutMs: config.resilience.upstreamConnectTimeoutMs });
  const pool = new ServerPool(servers);
  const selector = createRequestSelection(pool, config);
  const inFlight = new InFlightTracker((server) => selector.loadChanged(server));
  const metrics = new Metrics(pool.servers.length);
  const health = new HealthChecker(pool, client, healthCheckOptions(config), logger('health'));
  const resilience = createResilience(config, pool, inFlight);
  const admission = new Admission({
    pool,
    selection: selector,
    inFlight,
    metrics,
    resilience: resilience.resilience,
    log: logger('proxy'),
    headerRules: { trustProxy: config.trustProxy, preserveHost: config.preserveHost },
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    maxRequestBodyBytes: config.maxRequestBodyBytes,
    observers,
  });
  // Built on first use: a runtime with a native I/O path (Node) never sends proxied traffic through `fetch`.
  let web: WebForwarder | undefined;
  const stats = () => buildStatsReport({ algorithm: config.algorithm, startedAt, pool, inFlight, metrics, worker, resilience: resilience.stats });
  let draining = false;
  const admin = createAdminRoutes({ stats, healthyServers: () => pool.healthy.length, draining: () => draining });

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
    get draining() {
      return draining;
    },
    drain: () => void (draining = true),
    inFlight: () => inFlight.total,
    terminate: () => {
      resilience.stop();
      for (const exchange of [...admission.open]) exchange.terminate();
    },
    start: () => health.start(),
    stop: async () => {
      resilience.stop();
      await health.stop();
      selector.close();
      await client.close?.();
    },
  };
  return { balancer, pool, health, resilience: resilience.resilience };
}
