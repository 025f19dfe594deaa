/**
 * Drives GET /lb/dashboard in Debian's Chromium (playwright-core, never a downloaded browser) against a real
 * Fairway (Node 26's native path) over three real backends with live traffic: the page's numbers must match
 * /lb/stats, and a click on drain must be seen to stop that server's traffic, at the server itself. Saves
 * screenshots to docs/. Installs Chromium with apt-get when it is missing, but only as root or in CI.
 *
 *   node scripts/test.mjs browser
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { type Backend, backendServers, closeBackends, startBackends } from '../support/backends.ts';
import { request } from '../support/http.ts';
import { pollUntil } from '../support/poll.ts';
import { type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { getRuntime } from '../support/runtimes.ts';

const CHROMIUM = '/usr/bin/chromium';
const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));
const TOKEN = 'browser-test-token-0123456789';
const RUNTIME = 'node26';

/** Installs Debian's chromium when missing; only where installing system packages is expected (root or CI). */
function ensureChromium(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const mayInstall = process.getuid?.() === 0 || process.env.CI !== undefined;
  if (!mayInstall) return `${CHROMIUM} is missing; install it with: apt-get install -y chromium`;
  execFileSync('apt-get', ['update'], { stdio: 'inherit', timeout: 300_000 });
  execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return existsSync(CHROMIUM) ? undefined : `apt-get install chromium did not provide ${CHROMIUM}`;
}

/** The page's text in one server card's field. */
const field = (page: Page, url: string, name: string) => page.locator(`[data-server="${url}"] [data-field="${name}"]`).first().innerText();

/** The page's number formats (dashboard-page.ts), to compare its text with /lb/stats. */
function fmt(n: number, digits = 1): string {
  if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}
const pct = (r: number) => (r * 100).toFixed(r > 0 && r < 0.1 ? 2 : 1) + '%';

interface ServerStats {
  url: string;
  weight: number;
  requests: number;
  errorRate: number;
  activeConnections: number;
  adminState: string;
}

/** Steady traffic on fresh connections, one request at a time, bounded in count and time; `paused` holds it. */
class Traffic {
  sent = 0;
  paused = false;
  /** True once a pause has taken hold: the request in flight when `paused` was set has been answered. */
  held = false;
  #stopped = false;
  readonly #done: Promise<void>;
  constructor(url: string, limit = 6000, maxMs = 120_000) {
    const until = Date.now() + maxMs;
    this.#done = (async () => {
      while (!this.#stopped && this.sent < limit && Date.now() < until) {
        if (this.paused) {
          this.held = true;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        this.held = false;
        this.sent++;
        // Every 20th request fails at the server, so the error rate is not zero.
        await request(`${url}/${this.sent % 20 === 0 ? 'status/500' : `page/${this.sent}`}`).catch(() => {});
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
  }
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

describe('dashboard in Chromium against a real proxy', () => {
  const missing = ensureChromium();
  let backends: Backend[];
  let proxy: ProxyHandle;
  let traffic: Traffic;
  let context: BrowserContext;
  let profile: string;

  before(async () => {
    if (missing) return;
    backends = await startBackends([{ name: 'a', delayMs: 2 }, { name: 'b', delayMs: 5 }, { name: 'c', delayMs: 12 }]);
    proxy = await startProxy(getRuntime(RUNTIME), {
      BACKEND_SERVERS: backendServers(backends, [3, 2, 1]),
      ALGORITHM: 'weighted_round_robin',
      ADMIN_TOKEN: TOKEN,
      ACCESS_LOG: 'off',
      HEALTH_CHECK_INTERVAL_MS: '1000',
    });
    traffic = new Traffic(proxy.url);
    profile = mkdtempSync(path.join(tmpdir(), 'fairway-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 820 },
    });
  });

  after(async () => {
    await traffic?.stop();
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await proxy?.stop();
    await closeBackends(backends ?? []);
  });

  test("shows each server with the numbers of /lb/stats, and a click on drain stops that server's traffic", { skip: missing, timeout: 180_000 }, async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${proxy.url}/lb/dashboard`);
    const [a, b, c] = backends.map((x) => x.url) as [string, string, string];
    await page.locator(`[data-server="${c}"]`).waitFor();
    await pollUntil(() => (traffic.sent > 150 ? true : undefined), { timeoutMs: 30_000, description: 'some traffic' });

    // Traffic held still, the page's figures must become exactly those of /lb/stats.
    traffic.paused = true;
    // The request in flight when the pause was set still counts once answered: wait for it, or the counts move under the page.
    await pollUntil(() => (traffic.held ? true : undefined), { timeoutMs: 10_000, description: 'the traffic held' });
    const stats = async () => (await request(`${proxy.url}/lb/stats`)).json<{ servers: ServerStats[] }>().servers;
    await pollUntil(async () => {
      const now = await stats();
      for (const s of now) {
        if ((await field(page, s.url, 'requests')) !== fmt(s.requests)) return undefined;
      }
      return true;
    }, { timeoutMs: 10_000, description: 'the page showing /lb/stats request counts' });
    for (const s of await stats()) {
      assert.equal(await field(page, s.url, 'requests'), fmt(s.requests), `${s.url} requests`);
      assert.equal(await field(page, s.url, 'errorRate'), pct(s.errorRate), `${s.url} error rate`);
      assert.equal(await field(page, s.url, 'weight'), fmt(s.weight), `${s.url} weight`);
      assert.equal(await field(page, s.url, 'inFlight'), fmt(s.activeConnections), `${s.url} in flight`);
      assert.equal((await field(page, s.url, 'state')).toLowerCase(), 'active');
    }
    assert.equal(await page.locator('.controls').first().isVisible(), false, 'no admin buttons without a token');
    traffic.paused = false;
    const rateOf = async (url: string) => Number(await field(page, url, 'rps'));
    await pollUntil(async () => ((await rateOf(a)) > 0 ? true : undefined), { timeoutMs: 10_000, description: 'a req/s for server a' });

    // With the admin token the buttons appear; drain server a, and the server itself stops getting requests.
    await page.fill('#token', TOKEN);
    await page.click('#token-save');
    await page.locator(`[data-server="${a}"] .controls`).waitFor({ state: 'visible' });
    await page.click(`[data-server="${a}"] [data-action="drain"]`);
    await pollUntil(async () => ((await field(page, a, 'state')).toLowerCase() === 'drain' ? true : undefined), {
      timeoutMs: 5000,
      description: 'the drain badge',
    });
    const drainedAt = backends[0]!.requests.length;
    const sentAt = traffic.sent;
    await pollUntil(() => (traffic.sent > sentAt + 60 ? true : undefined), { timeoutMs: 30_000, description: '60 more requests' });
    assert.equal(backends[0]!.requests.length, drainedAt, 'the drained server got no request after the click');
    assert.ok(backends[1]!.requests.length > 0 && backends[2]!.requests.length > 0);
    await pollUntil(async () => ((await rateOf(a)) === 0 && (await rateOf(b)) > 0 ? true : undefined), {
      timeoutMs: 10_000,
      description: 'the page showing no traffic to a',
    });
    const stat = (await stats()).find((s) => s.url === a)!;
    assert.equal(stat.adminState, 'drain', '/lb/stats says drain too');
    assert.ok(proxy.events('admin_server_changed').length >= 1, 'the change is logged');

    // Back to active, a new weight for b, and the charts fill a little for the screenshot.
    await page.click(`[data-server="${a}"] [data-action="active"]`);
    await page.fill(`[data-server="${b}"] [data-field="weight-input"]`, '5');
    await page.click(`[data-server="${b}"] [data-action="weight"]`);
    await pollUntil(async () => ((await field(page, b, 'weight')) === '5' ? true : undefined), { timeoutMs: 5000, description: 'the new weight on the page' });
    await pollUntil(async () => ((await rateOf(a)) > 0 ? true : undefined), { timeoutMs: 10_000, description: 'a back in rotation' });
    await page.waitForTimeout(10_000); // a few more polls so the charts show a shape in the screenshot (not an assertion)
    await page.screenshot({ path: path.join(DOCS, 'dashboard.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(DOCS, 'dashboard-phone.png') });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling on a phone; the page is ${overflow}px too wide`);
    assert.deepEqual(errors, []);
  });
});
