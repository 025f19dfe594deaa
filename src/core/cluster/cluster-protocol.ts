/**
 * The loopback control channel between the supervisor and its workers (WORKERS>1): one JSON POST /sync per
 * worker about every second, over HTTP on 127.0.0.1 with a random token, served through the runtime's own
 * `serve`. The same on Node, Deno and Bun, unlike stdin pipes or shared memory, and a restarted worker just syncs again.
 */
import type { AdminState, ServerChange } from '../admin/pool-control.ts';
import type { StatsReport } from '../stats/stats-report.ts';
import type { HealthCheckResult } from '../upstream/upstream-server.ts';

/** Set by the supervisor in each worker's environment; internal, never set by hand. */
export const CLUSTER_URL_VAR = 'FAIRWAY_CLUSTER_URL';
export const CLUSTER_TOKEN_VAR = 'FAIRWAY_CLUSTER_TOKEN';
export const CLUSTER_TOKEN_HEADER = 'x-fairway-cluster-token';

/** An admin API change made in one worker, for the supervisor to apply to the shared pool. */
export type AdminOp =
  | { readonly op: 'add'; readonly url: string; readonly weight: number }
  | { readonly op: 'update'; readonly id: string; readonly change: ServerChange }
  | { readonly op: 'remove'; readonly id: string };

export interface SyncRequest {
  readonly worker: number;
  /** Random per worker process: a new one means the worker was restarted and its counts began again. */
  readonly instance: string;
  readonly report: StatsReport;
  /** The worker's own exposition, every series labelled with its worker id. */
  readonly metrics: string;
  readonly ops: readonly AdminOp[];
  /** Ask for the merged /lb/stats and /lb/metrics too (a scrape is being answered). */
  readonly view: boolean;
}

/** One server as the whole process group sees it: membership, weight and admin state, and the one health verdict. */
export interface SharedServer {
  readonly url: string;
  readonly weight: number;
  readonly adminState: AdminState;
  readonly healthy: boolean;
  readonly lastHealthCheck: HealthCheckResult | null;
}

export interface SyncResponse {
  readonly servers: readonly SharedServer[];
  readonly view?: { readonly stats: StatsReport; readonly metrics: string };
}
