/** The servers, which of them may be picked, and events that keep selection's structures up to date incrementally. */
import type { ServerConfig } from '../config/config-types.ts';
import { UpstreamServer } from './upstream-server.ts';
import type { AdminState } from '../admin/pool-control.ts';
import { SlowStart } from './slow-start.ts';

/** Fit for traffic, whatever the operator says: healthy by its probes and not ejected by outlier detection. */
const fitForTraffic = (server: UpstreamServer): boolean => server.healthy && !server.ejected;
/** Selection may pick it: fit, and taking new traffic by the operator's say (drain and disabled take none). */
const isUp = (server: UpstreamServer): boolean => fitForTraffic(server) && server.adminState === 'active';

/** What the pool tells its subscribers (the selection algorithms). Every call is synchronous. */
export interface PoolListener {
  /** The configured set changed: a server was added or removed, or a weight changed. Receives every server. */
  configured?(servers: readonly UpstreamServer[]): void;
  /** The server may be picked from now on. */
  available(server: UpstreamServer): void;
  /** The server must not be picked any more. */
  unavailable(server: UpstreamServer): void;
  /** The server left the pool for good (after `unavailable` and `configured`): drop whatever is kept about it. */
  removed?(server: UpstreamServer): void;
}

export class ServerPool {
  #servers: readonly UpstreamServer[];
  readonly #byServerId = new Map<string, UpstreamServer>();
  readonly #listeners = new Set<PoolListener>();
  #nextSlot: number;
  #availableCount: number;
  /** Rebuilt on first read after a change, so neither picking nor health changes pay O(n) for it. */
  #healthyCache: readonly UpstreamServer[] | undefined;
  /**
   * SLOW_START_MS: a server returning to rotation ramps up to its weight. The pool knows each return before anyone is
   * told of it, so the ramp has started when selection first reads the server's weight (selectionWeight).
   */
  readonly slowStart: SlowStart<UpstreamServer>;

  /** `slowStart` is off unless given: the servers configured here are in rotation from the start and never ramp. */
  constructor(configs: readonly ServerConfig[], slowStart: SlowStart<UpstreamServer> = new SlowStart(0)) {
    this.slowStart = slowStart;
    this.#servers = configs.map((c, i) => new UpstreamServer(i, c.url, c.weight));
    for (const server of this.#servers) this.#byServerId.set(server.serverId, server);
    this.#nextSlot = this.#servers.length;
    this.#availableCount = this.#servers.length;
  }

  /** Every server, available or not, in configured order (servers added later come last). */
  get servers(): readonly UpstreamServer[] {
    return this.#servers;
  }

  /** Available servers (healthy and not ejected) in configured order. Kept for callers that list them; selection never reads it. */
  get healthy(): readonly UpstreamServer[] {
    return (this.#healthyCache ??= this.#servers.filter(isUp));
  }

  get availableCount(): number {
    return this.#availableCount;
  }

  /** The server with this stable id (server-id.ts), or undefined: ids from cookies or the admin API are untrusted. */
  byServerId(serverId: string): UpstreamServer | undefined {
    return this.#byServerId.get(serverId);
  }

  /**
   * The weight selection uses for the server: its configured weight, or, with SLOW_START_MS, that weight in
   * SLOW_START_WEIGHT_SCALE units, ramped while it returns. Only ratios matter to every algorithm.
   */
  selectionWeight(server: UpstreamServer): number {
    return this.slowStart.selectionWeight(server, server.weight);
  }

  /** May selection send a request to it now? Healthy (active checks) and not ejected (outlier detection). */
  isAvailable(server: UpstreamServer): boolean {
    return isUp(server) && this.#byServerId.get(server.serverId) === server;
  }

  /** May a client pinned to it (sticky cookie or hash) still reach it? Drain keeps them, disabled does not (HAProxy's drain). */
  acceptsPinned(server: UpstreamServer): boolean {
    return fitForTraffic(server) && server.adminState !== 'disabled' && this.#byServerId.get(server.serverId) === server;
  }

  /**
   * Tells `listener` about every change from now on, after replaying the current state (configured set, then
   * each available server in configured order) so it starts in step. Returns the unsubscribe function.
   */
  subscribe(listener: PoolListener): () => void {
    this.#listeners.add(listener);
    listener.configured?.(this.#servers);
    for (const server of this.#servers) if (isUp(server)) listener.available(server);
    return () => this.#listeners.delete(listener);
  }

  /** Records a server's health; returns true when that changed it. */
  setHealthy(server: UpstreamServer, healthy: boolean): boolean {
    if (server.healthy === healthy) return false;
    this.#changeAvailability(server, () => (server.healthy = healthy));
    return true;
  }

  /** Records an outlier ejection starting or ending (outlier-detector.ts); returns true when that changed it. */
  setEjected(server: UpstreamServer, ejected: boolean): boolean {
    if (server.ejected === ejected) return false;
    this.#changeAvailability(server, () => (server.ejected = ejected));
    return true;
  }

  /** Records the operator's state (admin API); in-flight requests always finish. Returns true when that changed it. */
  setAdminState(server: UpstreamServer, state: AdminState): boolean {
    if (server.adminState === state) return false;
    this.#changeAvailability(server, () => (server.adminState = state));
    return true;
  }

  /** Applies `change` and tells the listeners if the server became available or unavailable by it. */
  #changeAvailability(server: UpstreamServer, change: () => void): void {
    const before = isUp(server);
    change();
    const after = isUp(server);
    if (before === after || this.#byServerId.get(server.serverId) !== server) return; // removed: nothing selects it any more
    if (after) this.slowStart.enter(server);
    else this.slowStart.leave(server);
    this.#availableCount += after ? 1 : -1;
    this.#healthyCache = undefined;
    for (const listener of this.#listeners) {
      if (after) listener.available(server);
      else listener.unavailable(server);
    }
  }

  /** Adds a server (healthy until a probe says otherwise, like configured ones). Throws if its origin is already in the pool. */
  add(config: ServerConfig): UpstreamServer {
    const server = new UpstreamServer(this.#nextSlot, config.url, config.weight);
    if (this.#byServerId.has(server.serverId)) throw new Error(`server ${config.url} is already in the pool`);
    this.#nextSlot++;
    this.#byServerId.set(server.serverId, server);
    this.#servers = [...this.#servers, server];
    this.#availableCount++;
    this.slowStart.enter(server);
    this.#healthyCache = undefined;
    for (const listener of this.#listeners) listener.configured?.(this.#servers);
    for (const listener of this.#listeners) listener.available(server);
    return server;
  }

  /** Removes a server; requests already sent to it finish normally. Returns false if it was not in the pool. */
  remove(server: UpstreamServer): boolean {
    if (this.#byServerId.get(server.serverId) !== server) return false;
    if (isUp(server)) {
      this.#availableCount--;
      for (const listener of this.#listeners) listener.unavailable(server);
    }
    this.#byServerId.delete(server.serverId);
    this.slowStart.leave(server);
    this.#servers = this.#servers.filter((s) => s !== server);
    this.#healthyCache = undefined;
    for (const listener of this.#listeners) listener.configured?.(this.#servers);
    for (const listener of this.#listeners) listener.removed?.(server);
    return true;
  }

  /** Changes a weight (a positive integer). Selection sees the server leave and come back with the new weight. */
  setWeight(server: UpstreamServer, weight: number): void {
    if (!Number.isInteger(weight) || weight < 1) throw new RangeError(`weight ${weight} is not allowed; use a positive integer`);
    if (server.weight === weight || this.#byServerId.get(server.serverId) !== server) return;
    const available = isUp(server);
    if (available) { for (const listener of this.#listeners) listener.unavailable(server); }
    server.weight = weight;
    for (const listener of this.#listeners) listener.configured?.(this.#servers);
    if (available) { for (const listener of this.#listeners) listener.available(server); }
  }
}
