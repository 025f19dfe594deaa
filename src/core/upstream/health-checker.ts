/**
 * Active health checks on an interval, with rise and fall thresholds: `rise` consecutive passing probes bring a
 * server back, `fall` consecutive failing ones take it out (HAProxy's model). Passive marking from real traffic
 * (`markUnhealthy`) is no longer called by the lifecycle, which reports each attempt to the outlier detector instead.
 */
import { matchesStatus, type StatusList } from '../config/status-list.ts';
import { describeError } from '../proxy/describe-error.ts';
import type { Logger } from '../logging.ts';
import type { ServerPool } from './server-pool.ts';
import type { UpstreamClient } from './upstream-client.ts';
import type { HealthCheckResult, UpstreamServer } from './upstream-server.ts';

export interface HealthCheckOptions {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive passing probes that bring an unhealthy server back (HEALTH_CHECK_RISE). Default 2. */
  readonly rise?: number;
  /** Consecutive failing probes that take a healthy server out (HEALTH_CHECK_FALL). Default 3. */
  readonly fall?: number;
  /** Statuses that pass (HEALTH_CHECK_EXPECT); default any status below 500. */
  readonly expect?: StatusList;
  /** Told of every probe's result (fairway_health_checks_total). */
  readonly onProbe?: (server: UpstreamServer, ok: boolean) => void;
}

/** HAProxy's defaults: one lost probe (a GC pause, a dropped packet) never takes a server out, and one lucky probe never puts a sick one back. */
export const DEFAULT_RISE = 2;
export const DEFAULT_FALL = 3;

/**
 * Below 500 counts as healthy unless HEALTH_CHECK_EXPECT says otherwise, as the original design had it: a 404 on the
 * probe path still shows a live server.
 */
export const isHealthyStatus = (status: number, expect?: StatusList): boolean => (expect === undefined ? status < 500 : matchesStatus(expect, status));

/** The probe history the thresholds need, per server. */
interface ProbeStreak {
  passes: number;
  failures: number;
  /** False until the first probe: that one decides at once, so a server dead at start never waits `fall` rounds for traffic. */
  probed: boolean;
  /** Taken out by `markUnhealthy`: one passing probe undoes it, as before thresholds existed. */
  passivelyMarked: boolean;
}

export class HealthChecker {
  readonly #pool: ServerPool;
  readonly #client: UpstreamClient;
  readonly #options: HealthCheckOptions;
  readonly #log: Logger;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped by every start and stop, so a round from an earlier run never schedules another. */
  #generation = 0;
  #stopped = true;
  #roundInProgress = false;
  #running: Promise<void> = Promise.resolve();
  /** Weak, so a server removed from the pool takes its history with it. */
  readonly #streaks = new WeakMap<UpstreamServer, ProbeStreak>();

  constructor(pool: ServerPool, client: UpstreamClient, options: HealthCheckOptions, log: Logger) {
    this.#pool = pool;
    this.#client = client;
    this.#options = options;
    this.#log = log;
  }

  /** Probes every server now, then again each interval. Rounds never overlap: the next is timed from the end of the last. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const generation = ++this.#generation;
    const round = () => {
      this.#roundInProgress = true;
      this.#running = this.checkAll().finally(() => {
        this.#roundInProgress = false;
        if (generation === this.#generation) this.#timer = setTimeout(round, this.#options.intervalMs);
      });
    };
    if (!this.#roundInProgress) return round();
    // A restart during the previous run's last round waits for it, so two rounds never overlap.
    void this.#running.then(() => {
      if (generation === this.#generation) round();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async checkAll(): Promise<void> {
    await Promise.all(this.#pool.servers.map((server) => this.check(server)));
  }

  async check(server: UpstreamServer): Promise<HealthCheckResult> {
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#options.timeoutMs);
    let result: HealthCheckResult;
    try {
      const response = await this.#client.fetch(server.url + this.#options.path, {
        method: 'GET',
        headers: new Headers({ 'user-agent': 'fairway-health-check' }),
        body: null,
        signal: controller.signal,
        redirect: 'manual',
        duplex: 'half',
      });
      // The body is not needed; cancelling frees the connection instead of leaving it half-read.
      await response.body?.cancel().catch(() => {});
      const ok = isHealthyStatus(response.status, this.#options.expect);
      result = { at: new Date().toISOString(), ok, status: response.status, ms: elapsed(started), ...(ok ? {} : { reason: `status ${response.status}` }) };
    } catch (error) {
      const reason = controller.signal.aborted ? `no response within ${this.#options.timeoutMs} ms` : describeError(error);
      result = { at: new Date().toISOString(), ok: false, status: null, ms: elapsed(started), reason };
    } finally {
      clearTimeout(timer);
    }
    server.lastHealthCheck = result;
    this.#options.onProbe?.(server, result.ok);
    this.#applyProbe(server, result);
    return result;
  }

  /** Probe history of a server, for /lb/stats: consecutive passes and failures so far. */
  streak(server: UpstreamServer): { readonly passes: number; readonly failures: number } {
    const { passes, failures } = this.#streakOf(server);
    return { passes, failures };
  }

  /**
   * Passive detection, superseded by the outlier detector: a failed forward takes the server out at once and the next
   * passing probe brings it back (today's rule, kept until the forwarding code reports to the outlier detector).
   */
  markUnhealthy(server: UpstreamServer, reason: string): void {
    const streak = this.#streakOf(server);
    streak.passes = 0;
    if (this.#setHealthy(server, false, reason, 'passive')) streak.passivelyMarked = true;
  }

  #streakOf(server: UpstreamServer): ProbeStreak {
    let streak = this.#streaks.get(server);
    if (streak === undefined) this.#streaks.set(server, streak = { passes: 0, failures: 0, probed: false, passivelyMarked: false });
    return streak;
  }

  #applyProbe(server: UpstreamServer, result: HealthCheckResult): void {
    const streak = this.#streakOf(server);
    const first = !streak.probed;
    streak.probed = true;
    const detail = result.reason ?? `status ${result.status}`;
    if (result.ok) {
      streak.failures = 0;
      streak.passes++;
      if (server.healthy) return;
      const rise = this.#options.rise ?? DEFAULT_RISE;
      if (first || streak.passivelyMarked || streak.passes >= rise) {
        streak.passivelyMarked = false;
        this.#setHealthy(
          server,
          true,
          first || streak.passes === 1 ? `probe passed: ${detail}` : `${streak.passes} probes passed in a row, last: ${detail}`,
          'active',
        );
      }
      return;
    }
    streak.passes = 0;
    streak.failures++;
    if (!server.healthy) return;
    const fall = this.#options.fall ?? DEFAULT_FALL;
    if (first || streak.failures >= fall) {
      this.#setHealthy(
        server,
        false,
        first || streak.failures === 1 ? `probe failed: ${detail}` : `${streak.failures} probes failed in a row, last: ${detail}`,
        'active',
      );
    }
  }

  /** Logs each change once, with its reason; returns whether health changed. */
  #setHealthy(server: UpstreamServer, healthy: boolean, reason: string, source: 'active' | 'passive'): boolean {
    if (!this.#pool.setHealthy(server, healthy)) return false;
    const properties = {
      event: healthy ? 'server_healthy' : 'server_unhealthy',
      server: server.url,
      reason,
      source,
      healthyServers: this.#pool.availableCount,
    };
    if (healthy) this.#log.info('Server {server} is healthy again ({reason}); back in rotation', properties);
    else this.#log.warn('Server {server} is unhealthy ({reason}); out of rotation', properties);
    return true;
  }
}

const elapsed = (started: number): number => Math.round((performance.now() - started) * 1000) / 1000;
