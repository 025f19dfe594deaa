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
    return new Lease(server, this);
  }

  /** The one way a lease gives its count back (Lease.release, once). */
  released(server: UpstreamServer): void {
    server.inFlight--;
    this.#total--;
    this.#changed?.(server);
  }
}

/** A class, not an object with a closure: one object a request instead of three (object, closure, its context). */
class Lease implements InFlightLease {
  readonly server: UpstreamServer;
  readonly #tracker: InFlightTracker;
  #released = false;

  constructor(server: UpstreamServer, tracker: InFlightTracker) {
    this.server = server;
    this.#tracker = tracker;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#tracker.released(this.server);
  }
}
