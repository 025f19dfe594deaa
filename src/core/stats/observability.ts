/** Puts the recording together: the one `record(outcome)` the lifecycle calls, and the Prometheus text /lb/metrics serves. */
import { type AccessLogMode, accessLogSink } from './access-log.ts';
import { type GaugeView, PrometheusMetrics } from './prometheus.ts';
import { type RecentWindow, recentWindowSink, recorder, type RequestOutcome, type ServerIdentity } from './request-outcome.ts';

export interface Observability<S extends ServerIdentity> {
  /** Once per request, from the lifecycle's single exit. */
  readonly record: (outcome: RequestOutcome<S>) => void;
  /** Health checks, ejections and the queue report here; `render` gives GET /lb/metrics its body. */
  readonly prometheus: PrometheusMetrics;
}

export function createObservability<S extends ServerIdentity>(options: {
  /** The recent window behind /lb/stats (today's `Metrics`). */
  readonly window: RecentWindow<S>;
  readonly accessLog: AccessLogMode;
  /** Set with WORKERS>1: every series gets `worker="N"`. */
  readonly worker?: number;
  /** Servers known at start, so their series show zeros before the first request. */
  readonly servers?: readonly ServerIdentity[];
}): Observability<S> {
  const prometheus = new PrometheusMetrics({ worker: options.worker });
  for (const server of options.servers ?? []) prometheus.addServer(server);
  return { record: recorder<S>(recentWindowSink(options.window), prometheus, accessLogSink(options.accessLog)), prometheus };
}

export type { GaugeView };
