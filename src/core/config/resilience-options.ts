/** Maps the validated resilience settings onto each module's own options, so wiring them is one call per module. */
import type { AdmissionQueueOptions } from '../proxy/admission-queue.ts';
import type { RetryOptions } from '../proxy/retry-policy.ts';
import type { HealthCheckOptions } from '../upstream/health-checker.ts';
import type { OutlierOptions } from '../upstream/outlier-detector.ts';
import type { Config } from './config-types.ts';

export const healthCheckOptions = (config: Config): HealthCheckOptions => ({
  path: config.healthCheckPath,
  intervalMs: config.healthCheckIntervalMs,
  timeoutMs: config.healthCheckTimeoutMs,
  rise: config.resilience.healthCheckRise,
  fall: config.resilience.healthCheckFall,
  ...(config.resilience.healthCheckExpect === undefined ? {} : { expect: config.resilience.healthCheckExpect }),
});

/** Undefined when OUTLIER_CONSECUTIVE_FAILURES=0 turns ejection off: then no detector is made. */
export function outlierOptions(config: Config): OutlierOptions | undefined {
  const r = config.resilience;
  if (r.outlierConsecutiveFailures === 0) return undefined;
  return {
    consecutiveFailures: r.outlierConsecutiveFailures,
    baseEjectionMs: r.outlierBaseEjectionMs,
    maxEjectionMs: r.outlierMaxEjectionMs,
    maxEjectionPercent: r.outlierMaxEjectionPercent,
    count5xx: r.outlierCount5xx,
  };
}

export const retryOptions = (config: Config): RetryOptions => ({
  retries: config.resilience.retries,
  retryOnStatus: config.resilience.retryOnStatus,
  deadlineMs: config.resilience.retryDeadlineMs,
  budgetPercent: config.resilience.retryBudgetPercent,
});

export const admissionQueueOptions = (config: Config): AdmissionQueueOptions => ({
  maxRequestsPerServer: config.resilience.maxRequestsPerServer,
  timeoutMs: config.resilience.queueTimeoutMs,
  maxLength: config.resilience.queueMaxLength,
});
