/**
 * The open WebSocket and Upgrade tunnels of this process: how many each server holds (for /lb/stats), and the
 * one hook that closes them all at shutdown. A tunnel's in-flight lease belongs to its Exchange, which ends
 * when the tunnel does; this registry only counts and closes.
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
      },
    };
  }

  /** Open tunnels, to one server or in all. */
  count(server?: UpstreamServer): number {
    return server === undefined ? this.#open.size : (this.#perServer.get(server) ?? 0);
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
