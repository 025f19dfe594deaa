/** What one forwarded request came to: the record the lifecycle's single exit hands to `record()` once per request. */

/** Why forwarding failed before the server sent response headers. */
export type FailureKind = 'connect' | 'timeout' | 'reset';

/** The server a request went to, as metrics and logs name it. */
export interface ServerIdentity {
  /** Origin only, e.g. `http://10.0.0.1:5001`: the `server` label of every series (a bounded set, unlike paths). */
  readonly url: string;
}

/**
 * Everything the stats window, Prometheus and the access log need about one request. The lifecycle's
 * `Exchange` can implement this interface itself, so recording allocates nothing beyond what it holds anyway.
 */
export interface RequestOutcome<S extends ServerIdentity = ServerIdentity> {
  /** Wall-clock start, epoch milliseconds (the access log's time). */
  readonly startedAt: number;
  readonly requestId: string;
  /** Client address as the runtime reports it ('' when unknown). */
  readonly clientAddress: string;
  readonly method: string;
  /** Path and query as the client sent them: access log only, never a metric label. */
  readonly target: string;
  /** The server that gave the final answer; undefined when Fairway answered itself (503 no server, 405, 413 before selection). */
  readonly server: S | undefined;
  /**
   * Status sent to the client: the server's own, or Fairway's 502/504/503; 499 (nginx's "client closed
   * request") when the client left before the response headers.
   */
  readonly status: number;
  /** Set when forwarding failed before response headers (the client got 502 or 504). */
  readonly failure: FailureKind | undefined;
  /** The client went away before the server answered: counted, never an error against the server. */
  readonly abandoned: boolean;
  /** Forwarding attempts, 1 without retries; 0 when no server was selected. */
  readonly attempts: number;
  /** Origins of the servers tried, in order, when more than one attempt was made (otherwise may be empty). */
  readonly serversTried: readonly string[];
  /** Milliseconds from the start to the upstream response headers; undefined without them. */
  readonly headersMs: number | undefined;
  /** Milliseconds from the start until the response body ended or the exchange was abandoned. */
  readonly totalMs: number;
  /** Request body bytes read from the client. */
  readonly bytesIn: number;
  /** Response bytes handed to the runtime, or the Content-Length where the runtime sends the body natively. */
  readonly bytesOut: number;
  /** Combined log format fields; '' when the client sent none. */
  readonly referer?: string;
  readonly userAgent?: string;
}

/** One consumer of outcomes: the recent window of /lb/stats, the Prometheus series, the access log. */
export interface OutcomeSink<S extends ServerIdentity = ServerIdentity> {
  record(outcome: RequestOutcome<S>): void;
}

/** The single recording entry point: feeds every sink, in order, once per request. */
export function recorder<S extends ServerIdentity>(...sinks: readonly OutcomeSink<S>[]): (outcome: RequestOutcome<S>) => void {
  return (outcome) => {
    for (let i = 0; i < sinks.length; i++) sinks[i]!.record(outcome);
  };
}

/** The recent window behind /lb/stats, as `Metrics` offers it today. */
export interface RecentWindow<S> {
  recordResponse(server: S, status: number, ms: number): void;
  recordFailure(server: S): void;
  recordAbandoned(server: S): void;
  recordNoServer(): void;
}

/** Feeds /lb/stats' recent window (per-server percentiles of time to headers, error counts) from outcomes. */
export function recentWindowSink<S extends ServerIdentity>(window: RecentWindow<S>): OutcomeSink<S> {
  return {
    record(o) {
      if (o.server === undefined) {
        // Fairway's own 503 (no healthy server) is an error in totals; a 405 or 413 refused up front is not a forwarded request.
        if (o.status >= 500) window.recordNoServer();
      } else if (o.abandoned) window.recordAbandoned(o.server);
      else if (o.failure !== undefined || o.headersMs === undefined) window.recordFailure(o.server);
      else window.recordResponse(o.server, o.status, o.headersMs);
    },
  };
}
