/** Exact in-flight accounting: a lease per forwarded request, released exactly once. */
import type { UpstreamServer } from './upstream-server.ts';

export interface InFlightLease {
  readonly server: UpstreamServer;
  /** Idempotent: every exit path may call it, only the first one counts. */
  release(): void;
}

export class InFlightTracker {
  #total = 0;
  /** Told after every change, so selection can re-sort a server it keeps in a heap. */
  readonly #changed: ((server: UpstreamServer) => void) | undefined;

  constructor(changed?: (server: UpstreamServer) => void) {
    this.#changed = changed;
  }

  get total(): number {
    return this.#total;
  }

  acquire(server: UpstreamServer): InFlightLease {
    server.inFlight++;
    this.#total++;
    this.#changed?.(server);
    let released = false;
    return {
      server,
      release: () => {
        if (released) return;
        released = true;
        server.inFlight--;
        this.#total--;
        this.#changed?.(server);
      },
    };
  }
}
