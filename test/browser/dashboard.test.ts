/**
 * Drives GET /lb/dashboard in Debian's Chromium (playwright-core, never a downloaded browser) against a small
 * server with a fake /lb/stats and a fake pool behind the real admin API: the page's numbers must match the
 * stats, drain must reach the pool and the drained server's traffic must be seen to stop. Saves screenshots
 * to docs/. Installs Chromium with apt-get when it is missing, but only as root or in CI.
 *
 *   npx tsx --test test/browser/dashboard.test.ts
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createAdminApi } from '../../src/core/admin/admin-api.ts';
import { createAdminRoutes } from '../../src/core/admin/admin-routes.ts';
import type { AddResult, PoolControl, ServerChange, ServerView } from '../../src/core/admin/pool-control.ts';
import type { StatsReport } from '../../src/core/stats/stats-report.ts';
import { pollUntil } from '../support/poll.ts';

const CHROMIUM = '/usr/bin/chromium';
const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));
const TOKEN = 'browser-test-token-0123456789';

/** Installs Debian's chromium when missing; only where installing system packages is expected (root or CI). */
function ensureChromium(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const mayInstall = process.getuid?.() === 0 || process.env.CI !== undefined;
  if (!mayInstall) return `${CHROMIUM} is missing; install it with: apt-get install -y chromium`;
  execFileSync('apt-get', ['update'], { stdio: 'inherit', timeout: 300_000 });
  execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return existsSync(CHROMIUM) ? undefined : `apt-get install chromium did not provide ${CHROMIUM}`;
}

interface FakeServer extends ServerView {
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  /** Requests per second this server takes while it is active. */
  rate: number;
}

/** Three servers whose request counts grow with wall time while active, as traffic would; drained ones stop. */
class FakeBalancer implements PoolControl {
  readonly startedAt = Date.now();
  lastTick = Date.now();
  readonly servers: FakeServer[] = [
    { id: 's1', url: 'http://10.0.0.11:8080', weight: 3, adminState: 'active', healthy: true, inFlight: 4, requests: 5000, errors: 10, p50: 2.4, p95: 11.8, rate: 60 },
    { id: 's2', url: 'http://10.0.0.12:8080', weight: 2, adminState: 'active', healthy: true, inFlight: 1, requests: 3000, errors: 0, p50: 3.1, p95: 14.2, rate: 40 },
    { id: 's3', url: 'http://10.0.0.13:8080', weight: 1, adminState: 'active', healthy: false, inFlight: 0, requests: 900, errors: 120, p50: 40, p95: 250, rate: 0 },
  ];

  /** Advances the traffic to now, with a little noise in the latencies so the charts move. */
  advance(): void {
    const now = Date.now();
    const seconds = (now - this.lastTick) / 1000;
    this.lastTick = now;
    for (const s of this.servers) {
      if (s.adminState !== 'active' || s.rate === 0) continue;
      s.requests += Math.round(s.rate * seconds);
      s.p95 = Math.round((s.p95 * 0.8 + (s.p95 * (0.85 + Math.random() * 0.3)) * 0.2) * 1000) / 1000;
    }
  }

  stats(): StatsReport {
    this.advance();
    const totalRequests = this.servers.reduce((n, s) => n + s.requests, 0);
    const totalErrors = this.servers.reduce((n, s) => n + s.errors, 0);
    return {
      algorithm: 'weighted_round_robin',
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 100) / 10 + 3600,
      totals: { requests: totalRequests, errors: totalErrors, errorRate: Math.round((totalErrors / totalRequests) * 10000) / 10000, activeConnections: 5 },
      servers: this.servers.map((s) => ({
        url: s.url, weight: s.weight, healthy: s.healthy, activeConnections: s.inFlight, requests: s.requests, errors: s.errors,
        errorRate: Math.round((s.errors / s.requests) * 10000) / 10000,
        responseTimeMs: { avg: s.p50, p50: s.p50, p95: s.p95, p99: s.p95 * 1.5 },
        lastHealthCheck: { at: new Date().toISOString(), ok: s.healthy, status: s.healthy ? 200 : 503, ms: 1 },
      })),
      worker: { id: 1, count: 1, scope: 'the whole process' },
    } as unknown as StatsReport;
  }

  list(): readonly ServerView[] {
    return this.servers.map(({ id, url, weight, adminState, healthy, inFlight }) => ({ id, url, weight, adminState, healthy, inFlight }));
  }
  add(): AddResult {
    throw new Error('not used');
  }
  update(id: string, change: ServerChange): ServerView | undefined {
    const s = this.servers.find((x) => x.id === id);
    if (s === undefined) return undefined;
    this.advance();
    Object.assign(s, change);
    return this.list().find((x) => x.id === id);
  }
  remove(): ServerView | undefined {
    return undefined;
  }
}

/** The page's text in one server card's field. */
const field = (page: Page, url: string, name: string) => page.locator(`[data-server="${url}"] [data-field="${name}"]`).first().innerText();

describe('dashboard in Chromium', () => {
  const missing = ensureChromium();
  let server: ServerType;
  let origin: string;
  let context: BrowserContext;
  let profile: string;
  const fake = new FakeBalancer();
  const adminCalls: string[] = [];

  before(async () => {
    if (missing) return;
    const log = { warn: () => {}, info: (_m: string, p: Record<string, unknown>) => adminCalls.push(String(p.event)) } as never;
    const app = createAdminRoutes({ stats: () => fake.stats(), healthyServers: () => 2, adminApi: createAdminApi({ token: TOKEN, pool: fake, log }) });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    const address = server.address();
    origin = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    profile = mkdtempSync(path.join(tmpdir(), 'fairway-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 820 },
    });
  });

  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  test('shows each server with the numbers of /lb/stats, drains one through the admin API, and is saved as a screenshot', { skip: missing }, async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${origin}/lb/dashboard`);
    const [a, b, c] = fake.servers.map((s) => s.url) as [string, string, string];
    await page.locator(`[data-server="${c}"]`).waitFor();

    // Numbers straight from /lb/stats.
    assert.equal(await field(page, a, 'p50'), '2.40 ms');
    assert.equal(await field(page, c, 'p95'), '250 ms');
    assert.equal(await field(page, c, 'errorRate'), '13.3%'); // 120 of 900: c takes no traffic, so its figures hold still
    assert.equal(await field(page, c, 'requests'), '900');
    assert.equal(await field(page, b, 'errorRate'), '0.0%');
    assert.equal(await field(page, a, 'inFlight'), '4');
    assert.equal(await field(page, a, 'weight'), '3');
    assert.equal((await field(page, c, 'state')).toLowerCase(), 'unhealthy');
    // req/s is derived from successive request counts: server a takes 60 per second, c none.
    const rateOf = async (url: string) => Number(await field(page, url, 'rps'));
    await pollUntil(async () => (await rateOf(a)) > 0, { timeoutMs: 10_000, description: 'a req/s for server a' });
    const aRate = await rateOf(a);
    assert.ok(aRate > 30 && aRate < 90, `server a takes 60 req/s; the page says ${aRate}`);
    assert.equal(await rateOf(c), 0);
    assert.equal(await page.locator('.controls').first().isVisible(), false, 'no admin buttons without a token');

    // With the admin token the buttons appear; drain server a, and its traffic is seen to stop.
    await page.fill('#token', TOKEN);
    await page.click('#token-save');
    await page.locator(`[data-server="${a}"] .controls`).waitFor({ state: 'visible' });
    await page.click(`[data-server="${a}"] [data-action="drain"]`);
    await pollUntil(() => fake.servers[0]!.adminState === 'drain', { timeoutMs: 5000, description: 'the pool to get drain' });
    await pollUntil(async () => (await field(page, a, 'state')).toLowerCase() === 'drain', { timeoutMs: 5000, description: 'the drain badge' });
    await pollUntil(async () => (await rateOf(a)) === 0 && (await rateOf(b)) > 0, { timeoutMs: 10_000, description: 'a drained server taking no traffic' });
    assert.deepEqual(adminCalls, ['admin_server_changed']);

    // Back to active, with a new weight, then let the charts fill a little for the screenshot.
    await page.click(`[data-server="${a}"] [data-action="active"]`);
    await page.fill(`[data-server="${b}"] [data-field="weight-input"]`, '5');
    await page.click(`[data-server="${b}"] [data-action="weight"]`);
    await pollUntil(() => fake.servers[1]!.weight === 5 && fake.servers[0]!.adminState === 'active', { timeoutMs: 5000, description: 'weight and enable' });
    await pollUntil(async () => (await field(page, b, 'weight')) === '5', { timeoutMs: 5000, description: 'the new weight on the page' });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('fairway-admin-token')), TOKEN);
    await pollUntil(async () => (await page.locator(`[data-server="${b}"] svg polyline`).count()) >= 2, { timeoutMs: 10_000, description: 'charts drawn' });
    await page.waitForTimeout(12_000); // a few more polls so the charts show a shape in the screenshot (not an assertion)
    await page.screenshot({ path: path.join(DOCS, 'dashboard.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(DOCS, 'dashboard-phone.png') });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling on a phone; the page is ${overflow}px too wide`);
    assert.deepEqual(errors, []);
  });
});
