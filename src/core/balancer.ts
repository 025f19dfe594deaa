/** Wires pool, selection, health, metrics and admission into what a runtime serves. */
import { type ControlPlane, createControlPlane } from './admin/control-plane.ts';
import type { Config, ServerConfig } from './config/config-types.ts';
import { Admission } from './proxy/admission.ts';
import type { ExchangeObserver } from './proxy/exchange.ts';
import type { Resilience } from './proxy/resilience.ts';
import { HealthChecker } from './upstream/health-checker.ts';
import { healthCheckOptions } from './config/resilience-options.ts';
import { InFlightTracker } from './upstream/in-flight.ts';
import { logger } from './logging.ts';
import { Metrics } from './stats/metrics.ts';
import { requestTarget } from './proxy/request-target.ts';
import type { ClientInfo } from './runtime/contracts.ts';
import { createRequestSelection } from './selection/request-selection.ts';
import { ServerPool } from './upstream/server-pool.ts';
import { SlowStart } from './upstream/slow-start.ts';
import { buildStatsReport, type StatsReport } from './stats/stats-report.ts';
import type { UpstreamClient } from './upstream/upstream-client.ts';
import { WebForwarder } from './proxy/web-forwarder.ts';
import { createResilience } from './resilience-wiring.ts';
import { TunnelRegistry } from './proxy/websocket/tunnels.ts';
import type { WorkerIdentity } from './workers/worker-identity.ts';

/** What a runtime needs from the balancer. */
export interface Balancer {
  /** The whole HTTP surface on the Web path: /lb/* to the admin routes, everything else proxied. */
  fetch(request: Request, client: ClientInfo): Response | Promise<Response>;
  /** Where a native I/O path turns each proxied request into an Exchange (or a refusal). */
  readonly admission: Admission;
  /** The /lb/ endpoints alone, for a native I/O path that routes proxied traffic itself, and for the ADMIN_PORT listener. */
  readonly admin: { fetch(request: Request): Response | Promise<Response> };
  /** Open WebSocket and Upgrade tunnels; `tunnels.closeAll()` closes them with 1001 at shutdown, after the drain. */
  readonly tunnels: TunnelRegistry;
  /** Does the proxy port answer this target itself (through `admin`) rather than proxy it? See control-plane.ts. */
  answersOnProxyPort(target: string): boolean;
  stats(): StatsReport;
  /** True once shutdown began: /lb/ready fails, and a native I/O path sends `Connection: close`. */
  readonly draining: boolean;
  /** Shutdown begins (see shutdown.ts). */
  drain(): void;
  /** The listener closes: no new tunnel opens (shutdown.ts). */
  stopAccepting(): void;
  /** Requests in flight now, open tunnels included. */
  inFlight(): number;
  /** The shutdown deadline passed: ends every exchange still open and answers queued requests. */
  terminate(): void;
  /** Starts active health checks, unless a supervisor probes for every worker (WORKERS>1). */
  start(options?: { readonly activeHealthChecks?: boolean }): void;
  stop(): Promise<void>;
}

/** The balancer and the parts it is wired from; tests reach the parts through this, runtimes only see `Balancer`. */
export interface BalancerParts {
  readonly balancer: Balancer;
  readonly pool: ServerPool;
  readonly health: HealthChecker;
  readonly control: ControlPlane;
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
  const pool = new ServerPool(servers, new SlowStart(config.resilience.slowStartMs));
  const selector = createRequestSelection(pool, config);
  const inFlight = new InFlightTracker((server) => {
    selector.loadChanged(server);
    control.poolControl.loadChanged(server);
  });
  const metrics = new Metrics(pool.servers.length);
  // `control` is made below; ejections happen only once traffic flows, long after.
  const resilience = createResilience(config, pool, inFlight, (server) => control.observability.prometheus.recordEjection(server));
  const tunnels = new TunnelRegistry();
  let draining = false;
  const stats = () => buildStatsReport({ algorithm: config.algorithm, startedAt, pool, inFlight, metrics, worker, resilience: resilience.stats, tunnels });
  const control = createControlPlane({
    config,
    pool,
    metrics,
    stats,
    worker: worker !== undefined && worker.count > 1 ? worker.id : undefined,
    draining: () => draining,
    queueLength: () => resilience.resilience.parts.queue.length,
  });
  const health = new HealthChecker(
    pool,
    client,
    { ...healthCheckOptions(config), onProbe: (server, ok) => control.observability.prometheus.recordHealthCheck(server, ok) },
    logger('health'),
  );
  const admission = new Admission({
    pool,
    selection: selector,
    inFlight,
    record: control.observability.record,
    resilience: resilience.resilience,
    log: logger('proxy'),
    headerRules: { trustProxy: config.trustProxy, preserveHost: config.preserveHost, via: config.via },
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    maxRequestBodyBytes: config.maxRequestBodyBytes,
    limits: {
      clientBodyTimeoutMs: config.clientBodyTimeoutMs,
      upstreamReadTimeoutMs: config.upstreamReadTimeoutMs,
      rewriteLocation: config.rewriteLocation,
      via: config.via,
    },
    responseBufferBytes: config.responseBufferBytes,
    observers,
    queueObserver: {
      waited: (ms) => control.observability.prometheus.recordQueueWait(ms),
      refused: (reason) => control.observability.prometheus.recordQueueRejection(reason),
    },
  });
  // Built on first use: a runtime with a native I/O path (Node) never sends proxied traffic through `fetch`.
  let web: WebForwarder | undefined;
  const admin = control.routes;

  const balancer: Balancer = {
    // Proxied traffic bypasses the router: Hono's HEAD handling would re-wrap upstream responses.
    fetch(request, clientInfo) {
      const target = requestTarget(request.url);
      if (control.answersOnProxyPort(target)) return admin.fetch(adminRequest(request, target));
      return (web ??= new WebForwarder(admission, client)).forward(request, clientInfo, target);
    },
    admission,
    admin,
    tunnels,
    answersOnProxyPort: (target) => control.answersOnProxyPort(target),
    stats,
    get draining() {
      return draining;
    },
    drain: () => void (draining = true),
    stopAccepting: () => tunnels.stopAccepting(),
    inFlight: () => inFlight.total,
    terminate: () => {
      resilience.stop();
      for (const exchange of [...admission.open]) exchange.terminate();
      // WebSocket tunnels still open at the drain deadline close with 1001, "going away" (RFC 6455 §7.4.1).
      tunnels.closeAll();
    },
    start: (options) => {
      if (options?.activeHealthChecks !== false) health.start();
    },
    stop: async () => {
      resilience.stop();
      await health.stop();
      selector.close();
      await client.close?.();
    },
  };
  return { balancer, pool, health, control, resilience: resilience.resilience };
}

/** The request as the /lb/ router sees it: the normalised target, with the headers and body the admin API reads. */
function adminRequest(request: Request, target: string): Request {
  const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers: request.headers };
  if (request.body !== null) {
    init.body = request.body;
    init.duplex = 'half';
  }
  return new Request(`http://fairway.invalid${target}`, init);
}
