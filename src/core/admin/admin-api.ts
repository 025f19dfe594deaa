/**
 * The admin API under /lb/admin/: list, add, change and remove servers while the balancer runs. Only mounted
 * when ADMIN_TOKEN is set; every call needs `Authorization: Bearer <token>`. Bodies are validated with valibot.
 */
import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { vValidator } from '@hono/valibot-validator';
import * as v from 'valibot';
import type { Logger } from '../logging.ts';
import { bearerTokenChecker } from './bearer-token.ts';
import { ADMIN_STATES, type PoolControl } from './pool-control.ts';

/** Same cap as BACKEND_SERVERS' ;weight=N. */
const MAX_WEIGHT = 1_000_000;

/** Origin only, as in BACKEND_SERVERS: each request's own path is appended when forwarding. */
function asOrigin(text: string): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.href === `${url.origin}/` ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

const weight = v.pipe(
  v.number('weight must be a number'),
  v.integer('weight must be an integer'),
  v.minValue(1, 'weight must be at least 1'),
  v.maxValue(MAX_WEIGHT, `weight must be at most ${MAX_WEIGHT}`),
);

const addServerBody = v.strictObject(
  {
    url: v.pipe(
      v.string('url must be a string'),
      v.check((text) => asOrigin(text) !== undefined, 'url must be an http or https origin with no path, query or user, e.g. http://10.0.0.5:5001'),
      v.transform((text) => asOrigin(text)!),
    ),
    weight: v.optional(weight, 1),
  },
  'unknown field; the body takes url and weight',
);

const changeServerBody = v.pipe(
  v.strictObject(
    {
      weight: v.optional(weight),
      adminState: v.optional(v.picklist(ADMIN_STATES, `adminState must be one of: ${ADMIN_STATES.join(', ')}`)),
    },
    'unknown field; the body takes weight and adminState',
  ),
  v.check((body) => body.weight !== undefined || body.adminState !== undefined, 'give weight, adminState or both'),
);

interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

/** valibot's issues as `{ field, message }`, the field a dotted path ('' for the body as a whole). */
function fieldIssues(issues: readonly v.BaseIssue<unknown>[]): FieldIssue[] {
  return issues.map((issue) => ({
    field: (issue.path ?? []).map((item) => String(item.key)).join('.'),
    message: issue.message,
  }));
}

/** The validator's hook: a 400 listing every field's problem, instead of the middleware's default body. */
function invalidBody(result: { success: boolean; issues?: readonly v.BaseIssue<unknown>[] }, c: Context): Response | undefined {
  if (result.success) return undefined;
  const issues = fieldIssues(result.issues ?? []);
  const summary = issues.map((i) => (i.field === '' ? i.message : `${i.field}: ${i.message}`)).join('; ');
  return c.json({ error: `invalid request body: ${summary}`, issues }, 400);
}

export interface AdminApiOptions {
  readonly token: string;
  readonly pool: PoolControl;
  readonly log: Logger;
}

export function createAdminApi({ token, pool, log }: AdminApiOptions): Hono {
  const app = new Hono().basePath('/lb/admin');
  const check = bearerTokenChecker(token);

  app.use('*', async (c, next) => {
    const result = await check(c.req.header('authorization'));
    if (result !== 'ok') {
      // Names what was wrong, never what was sent: a near-miss token in a log is a leaked token.
      log.warn('Admin API call refused: {reason} bearer token for {method} {path}', {
        event: 'admin_unauthorized',
        reason: result,
        method: c.req.method,
        path: c.req.path,
      });
      c.header('www-authenticate', 'Bearer realm="fairway-admin"'); // RFC 6750 §3
      return c.json({ error: 'the admin API needs the header Authorization: Bearer <ADMIN_TOKEN>' }, 401);
    }
    await next();
  });

  app.get('/servers', (c) => c.json({ servers: pool.list() }));

  app.post('/servers', vValidator('json', addServerBody, invalidBody), (c) => {
    const body = c.req.valid('json');
    const added = pool.add(body);
    if (!added.ok) return c.json({ error: `${body.url} is already in the pool as server ${added.existing.id}`, server: added.existing }, 409);
    log.info('Admin API added {url} with weight {weight}', {
      event: 'admin_server_added',
      url: added.server.url,
      weight: added.server.weight,
      id: added.server.id,
    });
    c.header('location', `/lb/admin/servers/${added.server.id}`);
    return c.json({ server: added.server }, 201);
  });

  app.patch('/servers/:id', vValidator('json', changeServerBody, invalidBody), (c) => {
    const id = c.req.param('id') ?? '';
    const change = c.req.valid('json');
    const server = pool.update(id, change);
    if (server === undefined) return noSuchServer(c, id);
    log.info('Admin API changed {url}', { event: 'admin_server_changed', url: server.url, id, ...change });
    return c.json({ server });
  });

  app.delete('/servers/:id', (c) => {
    const id = c.req.param('id') ?? '';
    const server = pool.remove(id);
    if (server === undefined) return noSuchServer(c, id);
    log.info('Admin API is removing {url} once its in-flight requests finish', { event: 'admin_server_removing', url: server.url, id });
    // 202: accepted; the server drains and leaves the pool when its last in-flight request ends.
    return c.json({ server }, 202);
  });

  app.notFound((c) =>
    c.json({ error: `no admin endpoint at ${c.req.method} ${c.req.path}; use GET or POST /lb/admin/servers, PATCH or DELETE /lb/admin/servers/:id` }, 404)
  );
  app.onError((error, c) => {
    // The JSON validator throws a 400 HTTPException on a body that is not JSON.
    if (error instanceof HTTPException && error.status === 400) return c.json({ error: 'the request body must be a JSON object', issues: [] }, 400);
    throw error;
  });
  return app;
}

function noSuchServer(c: Context, id: string): Response {
  return c.json({ error: `no server with id ${JSON.stringify(id)}; GET /lb/admin/servers lists them` }, 404);
}
