/** The balancer's own endpoints under /lb/: stats, metrics, liveness, readiness, the dashboard and (with a token) the admin API. */
import { Hono, type NotFoundHandler } from 'hono';
import type { StatsReport } from '../stats/stats-report.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../stats/prometheus.ts';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-page.ts';

export interface AdminSources {
  /** Async with WORKERS>1, where the merged view comes from the supervisor. */
  stats(): StatsReport | Promise<StatsReport>;
  healthyServers(): number;
  /** True once shutdown began: readiness fails at once so outer load balancers stop sending. */
  draining?(): boolean;
  /** The Prometheus text for GET /lb/metrics (`PrometheusMetrics.render`); without it /lb/metrics is not served. */
  prometheus?(): string | Promise<string>;
  /** The admin API (`createAdminApi`), mounted only when ADMIN_TOKEN is set; a promise, as its module loads only then. */
  adminApi?: Promise<Hono>;
}

export function createAdminRoutes(sources: AdminSources): Hono {
  const app = new Hono();
  // Live numbers must never be served from a cache.
  app.use('*', async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
  });
  app.get('/lb/stats', async (c) => c.json(await sources.stats()));
  // Liveness: answering at all is the signal. The container's HEALTHCHECK uses it.
  app.get('/lb/health', (c) => c.json({ status: 'ok' }));
  // Readiness: worth sending traffic to only while some server can take it.
  app.get('/lb/ready', (c) => {
    const healthyServers = sources.healthyServers();
    if (sources.draining?.() === true) return c.json({ status: 'draining', healthyServers, error: 'Fairway is shutting down' }, 503);
    return healthyServers > 0
      ? c.json({ status: 'ready', healthyServers })
      : c.json({ status: 'not ready', healthyServers, error: 'no healthy upstream server' }, 503);
  });
  if (sources.prometheus !== undefined) {
    const render = sources.prometheus;
    app.get('/lb/metrics', async (c) => c.body(await render(), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }));
  }
  app.get('/lb/dashboard', (c) => c.html(DASHBOARD_HTML, 200, { 'content-security-policy': DASHBOARD_CSP }));
  const served = ['GET /lb/stats', ...(sources.prometheus ? ['GET /lb/metrics'] : []), 'GET /lb/dashboard', 'GET /lb/health', 'GET /lb/ready'];
  if (sources.adminApi !== undefined) served.push('/lb/admin/servers');
  const notFound: NotFoundHandler = (c) => c.json({ error: `no balancer endpoint at ${c.req.method} ${c.req.path}; /lb/ serves ${served.join(', ')}` }, 404);
  app.notFound(notFound);
  if (sources.adminApi !== undefined) {
    // Reached through its own fetch, as app.route() needs the routes at once; a path it lacks gets the same 404 as any other.
    const adminApi = sources.adminApi.then((api) => api.notFound(notFound));
    app.all('/lb/admin/*', async (c) => (await adminApi).fetch(c.req.raw));
  }
  return app;
}
