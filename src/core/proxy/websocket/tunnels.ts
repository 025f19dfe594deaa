/**
 * The open WebSocket and Upgrade tunnels of this process: how many each server holds (for /lb/stats), whether
 * new ones are still taken, and the one hook that closes them all at the shutdown deadline. A tunnel's in-flight
 * lease belongs to its Exchange, which ends when the tunnel does, so the drain waits for tunnels as it waits for
 * requests; this registry only counts, refuses and closes.
 */
import type { UpstreamServer } from '../../upstream/upstream-server.ts';

/** Ends one tunnel: a close frame with 1001 to each side where it carries WebSocket frames, else a plain close. */
export type TunnelCloser = () => void;

export interface TunnelHandle {
  /** The tunnel has ended (both sides closed); idempotent. */
  ended(): void;
}

export class TunnelRegistry {
  readonly #open = new Map<object, { server: UpstreamServer; close: TunnelCloser }>();
  readonly #perServer = new Map<UpstreamServer, number>();
  #accepting = true;
  #idle: (() => void)[] = [];

  /** Registers an open tunnel to `server`; `close` is what `closeAll` calls for it. */
  opened(server: UpstreamServer, close: TunnelCloser): TunnelHandle {
    const key = {};
    this.#open.set(key, { server, close });
    this.#perServer.set(server, (this.#perServer.get(server) ?? 0) + 1);
    let done = false;
    return {
      ended: () => {
        if (done) return;
        done = true;
        this.#open.delete(key);
        const left = (this.#perServer.get(server) ?? 1) - 1;
        if (left === 0) this.#perServer.delete(server);
        else this.#perServer.set(server, left);
        if (this.#open.size === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
      },
    };
  }

  /** Open tunnels, to one server or in all. */
  count(server?: UpstreamServer): number {
    return server === undefined ? this.#open.size : (this.#perServer.get(server) ?? 0);
  }

  /** False once the listener stops accepting at shutdown: a new handshake then gets 503 (upgrade-exchange.ts). */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** Shutdown, when the listener closes (after SHUTDOWN_DELAY_MS): tunnels already open carry on; no new one opens. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /** Settles once no tunnel is open (at once if none is). */
  idle(): Promise<void> {
    return this.#open.size === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Graceful shutdown, after the drain timeout: every open tunnel is asked to close with 1001 ("going away",
   * RFC 6455 §7.4.1). Returns how many were; each leaves the registry when its two sides have closed.
   */
  closeAll(): number {
    const tunnels = [...this.#open.values()];
    for (const tunnel of tunnels) {
      try {
        tunnel.close();
      } catch {
        // A tunnel already closing may refuse; its own end still releases it.
      }
    }
    return tunnels.length;
  }
}
