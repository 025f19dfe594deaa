/** The validated resilience settings (issue 9): health thresholds, outlier ejection, retries, slow start, panic, overload, shutdown. */
import type { StatusList } from './status-list.ts';

export interface ResilienceConfig {
  /** HEALTH_CHECK_RISE: passing probes in a row that bring a server back. */
  readonly healthCheckRise: number;
  /** HEALTH_CHECK_FALL: failing probes in a row that take a server out. */
  readonly healthCheckFall: number;
  /** HEALTH_CHECK_EXPECT: statuses a probe passes with; undefined means any status below 500. */
  readonly healthCheckExpect: StatusList | undefined;
  /** OUTLIER_CONSECUTIVE_FAILURES: server faults in a row that eject; 0 turns outlier ejection off. */
  readonly outlierConsecutiveFailures: number;
  readonly outlierBaseEjectionMs: number;
  readonly outlierMaxEjectionMs: number;
  readonly outlierMaxEjectionPercent: number;
  readonly outlierCount5xx: boolean;
  /** RETRIES: tries on other servers after the first. */
  readonly retries: number;
  /** RETRY_ON_STATUS: answers retried like failures; empty by default. */
  readonly retryOnStatus: StatusList;
  /** RETRY_DEADLINE_MS: no try starts after this long since the first; 0 means no overall limit. */
  readonly retryDeadlineMs: number;
  readonly retryBudgetPercent: number;
  /** RETRY_BUFFER_BYTES: request bodies with a declared length up to this are buffered for replay; 0 buffers none. */
  readonly retryBufferBytes: number;
  /** UPSTREAM_CONNECT_TIMEOUT_MS: bound on each connection attempt; 0 means no limit. */
  readonly upstreamConnectTimeoutMs: number;
  /** SLOW_START_MS: ramp length for a server returning to rotation; 0 is off. */
  readonly slowStartMs: number;
  /** PANIC_THRESHOLD_PERCENT: below this share in rotation, balance over every server; 0 is off. */
  readonly panicThresholdPercent: number;
  /** MAX_REQUESTS_PER_SERVER: in-flight cap per server; undefined means no cap. */
  readonly maxRequestsPerServer: number | undefined;
  readonly queueTimeoutMs: number;
  readonly queueMaxLength: number;
  /** SHUTDOWN_DELAY_MS: after SIGTERM, readiness fails at once but new connections are accepted this long. */
  readonly shutdownDelayMs: number;
  /** SHUTDOWN_TIMEOUT_MS: the longest requests in flight may take to finish after the delay. */
  readonly shutdownTimeoutMs: number;
}

export const RESILIENCE_DEFAULTS: ResilienceConfig = {
  healthCheckRise: 2,
  healthCheckFall: 3,
  healthCheckExpect: undefined,
  outlierConsecutiveFailures: 5,
  outlierBaseEjectionMs: 30_000,
  outlierMaxEjectionMs: 300_000,
  outlierMaxEjectionPercent: 10,
  outlierCount5xx: false,
  retries: 2,
  retryOnStatus: [],
  retryDeadlineMs: 15_000,
  retryBudgetPercent: 20,
  retryBufferBytes: 65_536,
  upstreamConnectTimeoutMs: 5_000,
  slowStartMs: 0,
  panicThresholdPercent: 0,
  maxRequestsPerServer: undefined,
  queueTimeoutMs: 1_000,
  queueMaxLength: 1_024,
  shutdownDelayMs: 0,
  shutdownTimeoutMs: 8_000,
};
