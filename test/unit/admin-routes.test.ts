/** /lb/metrics, /lb/dashboard and the admin API as mounted among the balancer's own endpoints. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type AdminSources, createAdminRoutes } from '../../src/core/admin/admin-routes.ts';
import { createAdminApi } from '../../src/core/admin/admin-api.ts';
import { DASHBOARD_HTML } from '../../src/core/admin/dashboard-page.ts';
import type { StatsReport } from '../../src/core/stats/stats-report.ts';
import { recordingLogger } from './fakes.ts';

const stats = {
  algorithm: 'round_robin',
  uptimeSeconds: 1,
  totals: { requests: 0, errors: 0, errorRate: 0, activeConnections: 0 },
  servers: [],
} as unknown as StatsReport;
const base: AdminSources = { stats: () => stats, healthyServers: () => 1 };

describe('balancer endpoints', () => {
  test('GET /lb/metrics serves the Prometheus text with the 0.0.4 content type, uncached', async () => {
    const app = createAdminRoutes({ ...base, prometheus: () => '# TYPE x counter\nx 1\n' });
    const res = await app.request('/lb/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(await res.text(), '# TYPE x counter\nx 1\n');
  });

  test('without a Prometheus source /lb/metrics is a 404 that lists what is served', async () => {
    const res = await createAdminRoutes(base).request('/lb/metrics');
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /serves GET \/lb\/stats, GET \/lb\/dashboard/);
  });

  test('GET /lb/dashboard is one self-contained HTML page that loads nothing from elsewhere', async () => {
    const res = await createAdminRoutes(base).request('/lb/dashboard');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    assert.match(res.headers.get('content-security-policy')!, /default-src 'none'.*connect-src 'self'.*frame-ancestors 'none'/);
    const html = await res.text();
    const urls = [...html.matchAll(/https?:\/\/[^\s'"<>)]+/g)].map((m) => m[0]);
    assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg'], 'only the SVG namespace name, which is never fetched');
    assert.doesNotMatch(html, /<(?:link|img|iframe)\b|<script\s+src=/i);
    assert.match(html, /fetch\('\/lb\/stats'/);
  });

  test("the dashboard's inline script is valid JavaScript", () => {
    const script = /<script>([\s\S]*)<\/script>/.exec(DASHBOARD_HTML)![1]!;
    assert.doesNotThrow(() => new Function(script));
  });

  test('the admin API is mounted under /lb/admin/ only when given, and keeps its token check', async () => {
    assert.equal((await createAdminRoutes(base).request('/lb/admin/servers')).status, 404);
    const pool = { list: () => [], add: () => assert.fail(), update: () => undefined, remove: () => undefined };
    const adminApi = createAdminApi({ token: 'a-long-enough-token-123', pool, log: recordingLogger().logger });
    const app = createAdminRoutes({ ...base, adminApi: Promise.resolve(adminApi) });
    assert.equal((await app.request('/lb/admin/servers')).status, 401);
    const ok = await app.request('/lb/admin/servers', { headers: { authorization: 'Bearer a-long-enough-token-123' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await ok.json(), { servers: [] });
    assert.equal((await app.request('/lb/stats')).status, 200);
  });
});
