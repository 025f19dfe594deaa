/**
 * Builds issue 9's parts from the config and ties them to the pool: ejection feeds the pool's availability (so
 * selection skips ejected servers through its incremental structures), slow start follows servers back into rotation.
 */
import type { Config } from './config/config-types.ts';
import { admissionQueueOptions, outlierOptions, retryOptions } from './config/resilience-options.ts';
import { logger } from './logging.ts';
import { AdmissionQueue } from './proxy/admission-queue.ts';
import { Resilience } from './proxy/resilience.ts';
import { RetryPolicy } from './proxy/retry-policy.ts';
import type { ServerResilienceStats } from './stats/stats-report.ts';
import type { InFlightTracker } from './upstream/in-flight.ts';
import { OutlierDetector } from './upstream/outlier-detector.ts';
import type { ServerPool } from './upstream/server-pool.ts';
import type { UpstreamServer } from './upstream/upstream-server.ts';

export interface ResilienceWiring {
  readonly resilience: Resilience;
  /** The per-server fields /lb/stats adds. */
  stats(server: UpstreamServer): ServerResilienceStats;
  /** Shutdown: cancels ejection timers and answers every queued request at once. */
  stop(): void;
}

/** `onEjected` hears of every ejection (Prometheus' fairway_ejections_total). */
export function createResilience(config: Config, pool: ServerPool, inFlight: InFlightTracker, onEjected?: (server: UpstreamServer) => void): ResilienceWiring {
  const options = outlierOptions(config);
  const outliers = options === undefined
    ? undefined
    : new OutlierDetector<UpstreamServer>({ servers: () => pool.servers, inRotation: (s) => pool.isAvailable(s) }, options, logger('outlier'));
  outliers?.onChange((event) => {
    pool.setEjected(event.server, event.type === 'ejected');
    if (event.type === 'ejected') onEjected?.(event.server);
  });
  // A server removed from the pool (admin API, cluster sync) takes its failure history and ejection timer with it.
  // Slow start's ramp ends in the pool itself; retry counts are keyed weakly by the server and go with it.
  const unsubscribe = pool.subscribe({ available: () => {}, unavailable: () => {}, removed: (server) => outliers?.forget(server) });
  const queue = new AdmissionQueue(admissionQueueOptions(config));
  const resilience = new Resilience({
    pool,
    inFlight,
    outliers,
    retry: new RetryPolicy(retryOptions(config)),
    queue,
    retryBufferBytes: config.resilience.retryBufferBytes,
    panicThresholdPercent: config.resilience.panicThresholdPercent,
  });
  return {
    resilience,
    stats(server) {
      const outlier = outliers?.state(server);
      const ejectedUntil = outlier?.ejectedUntil ?? null;
      const retries = resilience.retryCounts(server);
      const rampMs = pool.isAvailable(server) ? pool.slowStart.remainingMs(server) : 0;
      return {
        state: ejectedUntil !== null ? 'ejected' : server.healthy ? 'healthy' : 'unhealthy',
        ejectedUntil: ejectedUntil === null ? null : new Date(ejectedUntil).toISOString(),
        consecutiveFailures: outlier?.consecutiveFailures ?? 0,
        ejections: outlier?.ejections ?? 0,
        retriesTo: retries.to,
        retriesAway: retries.away,
        slowStartShare: rampMs > 0 ? Math.round(pool.slowStart.factor(server) * 100) / 100 : null,
        slowStartUntil: rampMs > 0 ? new Date(pool.slowStart.now() + rampMs).toISOString() : null,
      };
    },
    stop() {
      unsubscribe();
      outliers?.stop();
      queue.rejectAll();
    },
  };
}
