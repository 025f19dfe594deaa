/** What the admin API needs from the balancer's pool: list, add, change and remove servers by their stable id. */

/** Set by an operator, apart from health: `drain` takes no new requests except clients pinned by stickiness; `disabled` none at all. */
export const ADMIN_STATES = ['active', 'drain', 'disabled'] as const;
export type AdminState = (typeof ADMIN_STATES)[number];

/** One server as the admin API shows it. */
export interface ServerView {
  /** Short hash of the origin: the same in every worker, every replica and across restarts. */
  readonly id: string;
  readonly url: string;
  readonly weight: number;
  readonly adminState: AdminState;
  readonly healthy: boolean;
  readonly inFlight: number;
  /** Set once DELETE asked for it: the server drains and leaves the pool when its in-flight requests have finished. */
  readonly removing?: boolean;
}

export interface ServerChange {
  readonly weight?: number;
  readonly adminState?: AdminState;
}

export type AddResult = { readonly ok: true; readonly server: ServerView } | { readonly ok: false; readonly existing: ServerView };

/**
 * Implemented by the balancer (every change applies at once, with no restart and no dropped request:
 * in-flight requests always finish); faked in the unit tests.
 */
export interface PoolControl {
  list(): readonly ServerView[];
  /** `url` is an origin, already validated and normalised. Adding an origin already in the pool fails with that server. */
  add(server: { readonly url: string; readonly weight: number }): AddResult;
  /** Undefined when no server has that id. */
  update(id: string, change: ServerChange): ServerView | undefined;
  /** Drains the server, then removes it once its in-flight requests have finished; returns it as it is now, or undefined. */
  remove(id: string): ServerView | undefined;
}
