/**
 * A worker's side of the control channel: pushes its counts about every second, takes the shared pool (health
 * verdicts, admin changes made through any worker) from the answer, and fetches the merged view for a scrape.
 */
import type { PoolControl } from '../admin/pool-control.ts';
import type { BalancerPoolControl } from '../admin/balancer-pool-control.ts';
import type { Logger } from '../logging.ts';
import type { StatsReport } from '../stats/stats-report.ts';
import { serverIdOf } from '../upstream/server-id.ts';
import type { ServerPool } from '../upstream/server-pool.ts';
import { type AdminOp, CLUSTER_TOKEN_HEADER, CLUSTER_TOKEN_VAR, CLUSTER_URL_VAR, type SyncRequest, type SyncResponse } from './cluster-protocol.ts';

export const SYNC_INTERVAL_MS = 1000;
const SYNC_TIMEOUT_MS = 5000;

/** What the control plane serves instead of this worker's own figures. */
export interface SharedView {
  stats(): Promise<StatsReport>;
  metrics(): Promise<string>;
  /** The admin API's pool: applies here at once and goes to every other worker through the supervisor. */
  readonly pool: PoolControl;
}

export interface ClusterMember extends SharedView {
  /** Syncs once (so a new or restarted worker starts with the shared pool), then every interval. */
  start(): Promise<void>;
  stop(): void;
}

export function joinCluster(input: {
  readonly url: string;
  readonly token: string;
  readonly worker: number;
  readonly pool: ServerPool;
  readonly poolControl: BalancerPoolControl;
  readonly localStats: () => StatsReport;
  readonly localMetrics: () => string;
  readonly log: Logger;
}): ClusterMember {
  const { pool, poolControl } = input;
  const instance = crypto.randomUUID();
  let pending: AdminOp[] = [];
  /** Bumped by every local admin change: an answer to a sync sent before it must not undo it. */
  let localChanges = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let warned = false;

  const sync = async (view: boolean): Promise<SyncResponse | undefined> => {
    const ops = pending;
    pending = [];
    const changesAtSend = localChanges;
    const body: SyncRequest = { worker: input.worker, instance, report: input.localStats(), metrics: input.localMetrics(), ops, view };
    let answer: SyncResponse;
    try {
      const response = await fetch(`${input.url}/sync`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [CLUSTER_TOKEN_HEADER]: input.token },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(SYNC_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`status ${response.status}`);
      answer = (await response.json()) as SyncResponse;
    } catch (error) {
      pending = [...ops, ...pending];
      if (!warned && !stopped) {
        warned = true;
        input.log.warn('Worker {worker} cannot reach its supervisor: {reason}; it keeps its own view until it can', {
          event: 'cluster_unreachable',
          worker: input.worker,
          reason: error instanceof Error ? error.message : String(error),
        });
      }
      return undefined;
    }
    warned = false;
    apply(answer, changesAtSend === localChanges && pending.length === 0);
    return answer;
  };

  /** Health always; membership, weight and admin state unless a local change is still on its way. */
  const apply = (answer: SyncResponse, adminToo: boolean) => {
    const wanted = new Set<string>();
    for (const s of answer.servers) {
      const id = serverIdOf(s.url);
      wanted.add(id);
      let server = pool.byServerId(id);
      if (server === undefined && adminToo) {
        poolControl.add({ url: s.url, weight: s.weight });
        server = pool.byServerId(id);
      }
      if (server === undefined) continue;
      if (adminToo) poolControl.update(id, { weight: s.weight, adminState: s.adminState });
      server.lastHealthCheck = s.lastHealthCheck;
      pool.setHealthy(server, s.healthy);
    }
    if (adminToo) { for (const server of pool.servers) if (!wanted.has(server.serverId)) poolControl.remove(server.serverId); }
  };

  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => void sync(false).finally(loop), SYNC_INTERVAL_MS);
  };

  const queue = (op: AdminOp) => {
    localChanges++;
    pending.push(op);
    void sync(false);
  };

  return {
    async start() {
      await sync(false);
      loop();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    async stats() {
      return (await sync(true))?.view?.stats ?? input.localStats();
    },
    async metrics() {
      return (await sync(true))?.view?.metrics ?? input.localMetrics();
    },
    pool: {
      list: () => poolControl.list(),
      add(server) {
        const result = poolControl.add(server);
        if (result.ok) queue({ op: 'add', url: server.url, weight: server.weight });
        return result;
      },
      update(id, change) {
        const result = poolControl.update(id, change);
        if (result !== undefined) queue({ op: 'update', id, change });
        return result;
      },
      remove(id) {
        const result = poolControl.remove(id);
        if (result !== undefined) queue({ op: 'remove', id });
        return result;
      },
    },
  };
}

/** The worker's membership when its supervisor set up the channel (WORKERS>1), else undefined. */
export function clusterMemberFor(
  env: Readonly<Record<string, string | undefined>>,
  worker: number | undefined,
  parts: {
    readonly pool: ServerPool;
    readonly control: { readonly poolControl: BalancerPoolControl; localMetrics(): string };
    readonly balancer: { stats(): StatsReport };
  },
  log: Logger,
): ClusterMember | undefined {
  const url = env[CLUSTER_URL_VAR];
  const token = env[CLUSTER_TOKEN_VAR];
  if (worker === undefined || url === undefined || token === undefined) return undefined;
  return joinCluster({
    url,
    token,
    worker,
    pool: parts.pool,
    poolControl: parts.control.poolControl,
    localStats: () => parts.balancer.stats(),
    localMetrics: () => parts.control.localMetrics(),
    log,
  });
}
