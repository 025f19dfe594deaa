/** Active health checks on an interval, and passive marking when forwarding fails. */
import { describeError } from '../proxy/describe-error.ts';
import type { Logger } from '../logging.ts';
import type { ServerPool } from './server-pool.ts';
import type { UpstreamClient } from './upstream-client.ts';
import type { HealthCheckResult, UpstreamServer } from './upstream-server.ts';

export interface HealthCheckOptions {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** Below 500 counts as healthy, as the original design had it: a 404 on the probe path still shows a live server. */
export const isHealthyStatus = (status: number): boolean => status < 500;

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
      const ok = isHealthyStatus(response.status);
      result = { at: new Date().toISOString(), ok, status: response.status, ms: elapsed(started), ...(ok ? {} : { reason: `status ${response.status}` }) };
    } catch (error) {
      const reason = controller.signal.aborted ? `no response within ${this.#options.timeoutMs} ms` : describeError(error);
      result = { at: new Date().toISOString(), ok: false, status: null, ms: elapsed(started), reason };
    } finally {
      clearTimeout(timer);
    }
    server.lastHealthCheck = result;
    this.#setHealthy(server, result.ok, result.reason ?? `status ${result.status}`, 'active');
    return result;
  }

  /** Passive detection: a failed forward takes the server out at once; the active check brings it back. */
  markUnhealthy(server: UpstreamServer, reason: string): void {
    this.#setHealthy(server, false, reason, 'passive');
  }

  #setHealthy(server: UpstreamServer, healthy: boolean, reason: string, source: 'active' | 'passive'): void {
    if (!this.#pool.setHealthy(server, healthy)) return;
    const properties = { event: healthy ? 'server_healthy' : 'server_unhealthy', server: server.url, reason, source, healthyServers: this.#pool.availableCount };
    if (healthy) this.#log.info('Server {server} is healthy again ({reason}); back in rotation', properties);
    else this.#log.warn('Server {server} is unhealthy ({reason}); out of rotation', properties);
  }
}

const elapsed = (started: number): number => Math.round((performance.now() - started) * 1000) / 1000;
