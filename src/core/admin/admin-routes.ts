/** The balancer's own endpoints under /lb/: stats, liveness and readiness. */
import { Hono } from 'hono';
import type { StatsReport } from '../stats/stats-report.ts';

export interface AdminSources {
  stats(): StatsReport;
  healthyServers(): number;
}

export function createAdminRoutes(sources: AdminSources): Hono {
  const app = new Hono();
  // Live numbers must never be served from a cache.
  app.use('*', async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
  });
  app.get('/lb/stats', (c) => c.json(sources.stats()));
  // Liveness: answering at all is the signal. The container's HEALTHCHECK uses it.
  app.get('/lb/health', (c) => c.json({ status: 'ok' }));
  // Readiness: worth sending traffic to only while some server can take it.
  app.get('/lb/ready', (c) => {
    const healthyServers = sources.healthyServers();
    return healthyServers > 0
      ? c.json({ status: 'ready', healthyServers })
      : c.json({ status: 'not ready', healthyServers, error: 'no healthy upstream server' }, 503);
  });
  app.notFound((c) =>
    c.json({ error: `no balancer endpoint at ${c.req.method} ${c.req.path}; /lb/ serves GET /lb/stats, /lb/health and /lb/ready` }, 404),
  );
  return app;
}
