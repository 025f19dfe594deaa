/**
 * The supervisor's side of the control channel: the one health prober for the process group, the shared pool
 * that admin changes from any worker go to, and the aggregator of every worker's counts for /lb/stats and /lb/metrics.
 */
import type { Config, ServerConfig } from '../config/config-types.ts';
import { createPoolControl } from '../admin/balancer-pool-control.ts';
import { bearerTokenChecker } from '../admin/bearer-token.ts';
import { logger } from '../logging.ts';
import type { ListeningServer, RuntimeAdapter } from '../runtime/contracts.ts';
import { PrometheusMetrics } from '../stats/prometheus.ts';
import { HealthChecker } from '../upstream/health-checker.ts';
import { ServerPool } from '../upstream/server-pool.ts';
import {
  type AdminOp,
  CLUSTER_TOKEN_HEADER,
  CLUSTER_TOKEN_VAR,
  CLUSTER_URL_VAR,
  type SharedServer,
  type SyncRequest,
  type SyncResponse,
} from './cluster-protocol.ts';
import { mergeExpositions } from './merge-prometheus.ts';
import { type CarriedCounts, carryOver, mergeStats, noCarry } from './merge-stats.ts';

interface Held {
  instance: string;
  report: SyncRequest['report'];
  metrics: string;
  readonly carried: CarriedCounts;
  receivedAt: number;
}

const randomToken = (): string => Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');

export class ClusterHub {
  readonly #pool: ServerPool;
  readonly #health: HealthChecker;
  readonly #poolControl;
  /** Health probes are the supervisor's own series, under `worker="supervisor"`. */
  readonly #prometheus = new PrometheusMetrics({ worker: 'supervisor' });
  readonly #token = randomToken();
  readonly #checkToken = bearerTokenChecker(this.#token);
  readonly #workers = new Map<number, Held>();
  readonly #count: number;
  readonly #startedAt = performance.now();
  #listener: ListeningServer | undefined;

  constructor(runtime: RuntimeAdapter, config: Config, servers: readonly ServerConfig[], count: number) {
    this.#count = count;
    this.#pool = new ServerPool(servers);
    for (const server of this.#pool.servers) this.#prometheus.addServer(server);
    this.#poolControl = createPoolControl(this.#pool, {
      added: (server) => this.#prometheus.addServer(server),
      removed: (server) => this.#prometheus.removeServer(server),
    });
    this.#health = new HealthChecker(
      this.#pool,
      runtime.upstream,
      {
        path: config.healthCheckPath,
        intervalMs: config.healthCheckIntervalMs,
        timeoutMs: config.healthCheckTimeoutMs,
        onProbe: (server, ok) => this.#prometheus.recordHealthCheck(server, ok),
      },
      logger('health'),
    );
  }

  /** Listens on loopback and starts probing; returns what the workers' environment must carry to reach it. */
  async start(runtime: RuntimeAdapter): Promise<Record<string, string>> {
    this.#listener = await runtime.serve((request) => this.#handle(request), { hostname: '127.0.0.1', port: 0 });
    this.#health.start();
    return { [CLUSTER_URL_VAR]: `http://127.0.0.1:${this.#listener.port}`, [CLUSTER_TOKEN_VAR]: this.#token };
  }

  async stop(): Promise<void> {
    await this.#health.stop();
    await this.#listener?.close();
  }

  async #handle(request: Request): Promise<Response> {
    if ((await this.#checkToken(`Bearer ${request.headers.get(CLUSTER_TOKEN_HEADER) ?? ''}`)) !== 'ok') return new Response('forbidden', { status: 403 });
    if (request.method !== 'POST' || new URL(request.url).pathname !== '/sync') return new Response('not found', { status: 404 });
    const sync = (await request.json()) as SyncRequest;
    for (const op of sync.ops) this.#apply(op);
    this.#hold(sync);
    const body: SyncResponse = { servers: this.#pool.servers.map(shared), ...(sync.view ? { view: this.#view(sync.worker) } : {}) };
    return Response.json(body);
  }

  #apply(op: AdminOp): void {
    if (op.op === 'add') this.#poolControl.add({ url: op.url, weight: op.weight });
    else if (op.op === 'update') this.#poolControl.update(op.id, op.change);
    else this.#poolControl.remove(op.id);
  }

  #hold(sync: SyncRequest): void {
    const held = this.#workers.get(sync.worker);
    if (held === undefined) {
      this.#workers.set(sync.worker, { instance: sync.instance, report: sync.report, metrics: sync.metrics, carried: noCarry(), receivedAt: Date.now() });
      return;
    }
    // A restarted worker counts from zero again: what its last run had counted is kept, so sums never go back.
    if (held.instance !== sync.instance) carryOver(held.carried, held.report);
    held.instance = sync.instance;
    held.report = sync.report;
    held.metrics = sync.metrics;
    held.receivedAt = Date.now();
  }

  #view(answeredBy: number): NonNullable<SyncResponse['view']> {
    const ids = [...this.#workers.keys()].sort((a, b) => a - b);
    const held = ids.map((id) => ({ id, ...this.#workers.get(id)! }));
    const stats = mergeStats({
      snapshots: held.map((h) => ({ id: h.id, report: h.report, carried: h.carried, receivedAt: h.receivedAt })),
      servers: this.#pool.servers,
      uptimeSeconds: Math.round((performance.now() - this.#startedAt) / 100) / 10,
      count: this.#count,
      answeredBy,
    });
    const metrics = mergeExpositions([...held.map((h) => h.metrics), this.#prometheus.render({ servers: [] })]);
    return { stats, metrics };
  }
}

const shared = (
  s: { url: string; weight: number; adminState: SharedServer['adminState']; healthy: boolean; lastHealthCheck: SharedServer['lastHealthCheck'] },
): SharedServer => ({
  url: s.url,
  weight: s.weight,
  adminState: s.adminState,
  healthy: s.healthy,
  lastHealthCheck: s.lastHealthCheck,
});
