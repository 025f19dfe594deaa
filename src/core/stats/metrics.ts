/** Request, error and latency counters per server and in total, and the latency average selection reads. */
import { type LatencySummary, LatencyWindow } from './latency-window.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';

/** Weight of the newest sample in the decaying average: recent enough to follow a slowing server. */
const EWMA_ALPHA = 0.3;

export interface ServerCounters {
  requests: number;
  errors: number;
  readonly latency: LatencyWindow;
}

export interface MetricsTotals {
  readonly requests: number;
  readonly errors: number;
}

export class Metrics {
  readonly #perServer: ServerCounters[] = [];
  #requests = 0;
  #errors = 0;

  constructor(serverCount: number) {
    for (let i = 0; i < serverCount; i++) this.#perServer.push(newCounters());
  }

  /** Slots are never reused, so a server added through the admin API gets fresh counters on its first use. */
  #of(server: UpstreamServer): ServerCounters {
    return (this.#perServer[server.id] ??= newCounters());
  }

  /** The server answered with response headers after `ms`; a 5xx counts as an error. */
  recordResponse(server: UpstreamServer, status: number, ms: number): void {
    const c = this.#of(server);
    c.requests++;
    this.#requests++;
    if (status >= 500) {
      c.errors++;
      this.#errors++;
    }
    c.latency.add(ms);
    server.latencyEwmaMs = server.latencyEwmaMs === undefined ? ms : server.latencyEwmaMs + EWMA_ALPHA * (ms - server.latencyEwmaMs);
  }

  /** Forwarding failed (refused, reset, timed out): the client got a 502 or 504. */
  recordFailure(server: UpstreamServer): void {
    const c = this.#of(server);
    c.requests++;
    c.errors++;
    this.#requests++;
    this.#errors++;
  }

  /** The client went away before the server answered: counted, but neither an error nor a latency sample. */
  recordAbandoned(server: UpstreamServer): void {
    this.#of(server).requests++;
    this.#requests++;
  }

  /** The balancer answered 503 itself because no server was healthy. */
  recordNoServer(): void {
    this.#requests++;
    this.#errors++;
  }

  totals(): MetricsTotals {
    return { requests: this.#requests, errors: this.#errors };
  }

  server(server: UpstreamServer): { requests: number; errors: number; latency: LatencySummary | null } {
    const c = this.#of(server);
    return { requests: c.requests, errors: c.errors, latency: c.latency.summary() };
  }
}

const newCounters = (): ServerCounters => ({ requests: 0, errors: 0, latency: new LatencyWindow() });
