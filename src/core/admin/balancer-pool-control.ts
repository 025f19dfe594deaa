/** The balancer's side of the admin API: `PoolControl` over the live pool, with DELETE as drain-then-remove. */
import type { ServerPool } from '../upstream/server-pool.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import type { AddResult, PoolControl, ServerChange, ServerView } from './pool-control.ts';

/** Told when a server joins or leaves the pool, so per-server series and probes follow it. */
export interface PoolMembership {
  added(server: UpstreamServer): void;
  removed(server: UpstreamServer): void;
}

export interface BalancerPoolControl extends PoolControl {
  /** Call after every in-flight change: a server being removed leaves the pool when its last request ends. */
  loadChanged(server: UpstreamServer): void;
}

export function createPoolControl(pool: ServerPool, membership: PoolMembership): BalancerPoolControl {
  /** Servers DELETE asked to remove: draining until their in-flight count reaches 0. */
  const removing = new Set<UpstreamServer>();

  const view = (server: UpstreamServer): ServerView => ({
    id: server.serverId,
    url: server.url,
    weight: server.weight,
    adminState: server.adminState,
    healthy: server.healthy,
    inFlight: server.inFlight,
    ...(removing.has(server) ? { removing: true } : {}),
  });

  const removeNow = (server: UpstreamServer) => {
    removing.delete(server);
    if (pool.remove(server)) membership.removed(server);
  };

  return {
    list: () => pool.servers.map(view),

    add({ url, weight }): AddResult {
      const existing = pool.servers.find((s) => s.url === url);
      if (existing !== undefined) return { ok: false, existing: view(existing) };
      const server = pool.add({ url, weight });
      membership.added(server);
      return { ok: true, server: view(server) };
    },

    update(id: string, change: ServerChange): ServerView | undefined {
      const server = pool.byServerId(id);
      if (server === undefined) return undefined;
      if (change.weight !== undefined) pool.setWeight(server, change.weight);
      // A server being removed stays drained: re-enabling it would race its removal.
      if (change.adminState !== undefined && !removing.has(server)) pool.setAdminState(server, change.adminState);
      return view(server);
    },

    remove(id: string): ServerView | undefined {
      const server = pool.byServerId(id);
      if (server === undefined) return undefined;
      if (server.adminState === 'active') pool.setAdminState(server, 'drain');
      removing.add(server);
      const now = view(server);
      if (server.inFlight === 0) removeNow(server);
      return now;
    },

    loadChanged(server) {
      if (server.inFlight === 0 && removing.has(server)) removeNow(server);
    },
  };
}
