/** The configured servers, and the list of healthy ones that selection chooses from. */
import type { ServerConfig } from '../config/config-types.ts';
import { UpstreamServer } from './upstream-server.ts';

export class ServerPool {
  readonly servers: readonly UpstreamServer[];
  #healthy: readonly UpstreamServer[];

  constructor(configs: readonly ServerConfig[]) {
    this.servers = configs.map((c, i) => new UpstreamServer(i, c.url, c.weight));
    this.#healthy = this.servers;
  }

  /** Healthy servers in configured order. Rebuilt only when health changes, so picking allocates nothing. */
  get healthy(): readonly UpstreamServer[] {
    return this.#healthy;
  }

  /** Records a server's health; returns true when that changed it. */
  setHealthy(server: UpstreamServer, healthy: boolean): boolean {
    if (server.healthy === healthy) return false;
    server.healthy = healthy;
    this.#healthy = this.servers.filter((s) => s.healthy);
    return true;
  }
}
