/** One configured backend server and the live state the balancer keeps about it. */
import type { Candidate } from '../selection/algorithm.ts';
import { serverIdOf } from './server-id.ts';
import type { AdminState } from '../admin/pool-control.ts';

export interface HealthCheckResult {
  readonly at: string;
  readonly ok: boolean;
  /** HTTP status of the probe, or null when it got no response (refused, timed out). */
  readonly status: number | null;
  readonly ms: number;
  readonly reason?: string;
}

/**
 * A plain record shared by the modules that each own one part of it: health writes `healthy`,
 * in-flight accounting writes `inFlight`, metrics writes `latencyEwmaMs`, the pool writes `weight`.
 * Selection only reads it through the `Candidate` view.
 */
export class UpstreamServer implements Candidate {
  /** Slot number in this process: configured position, then one more for each server added. Never reused. */
  readonly id: number;
  /** Stable short id derived from the origin alone (see server-id.ts): what sticky cookies and the admin API name. */
  readonly serverId: string;
  /** Origin only (`http://host:port`): the request's own path is appended when forwarding. */
  readonly url: string;
  /** Changed only through ServerPool.setWeight, which tells selection. */
  weight: number;
  healthy = true;
  /** Set by an operator through the admin API, apart from health; changed only through ServerPool.setAdminState. */
  adminState: AdminState = 'active';
  /** Out of rotation by outlier detection until its ejection ends; written only through ServerPool.setEjected. */
  ejected = false;
  inFlight = 0;
  latencyEwmaMs: number | undefined = undefined;
  lastHealthCheck: HealthCheckResult | null = null;

  constructor(id: number, url: string, weight: number) {
    this.id = id;
    this.serverId = serverIdOf(url);
    this.url = url;
    this.weight = weight;
  }
}
