/**
 * Node's proxy-steps.mjs: the Node ceiling (bench/ceilings/node.mjs: node:http in, undici Agent.stream out) plus,
 * one at a time, the Node form of each step Fairway takes per request (proxy-steps-common.mjs), so each step's
 * cost on Node can be measured apart from Fairway's code. `STEPS=required` turns on every step the issues require.
 *
 *   STEPS=required node_modules/node/bin/node bench/repro/proxy-steps-node.mjs   (env as for the ceilings)
 *   `node bench/run.mjs --steps node26` measures them all in one run.
 * Web-only steps (buffer, the Headers copies, streams) have no form here: Node's path already sends head and body in
 * one write without reading the body whole, and works on plain header objects.
 */
import http from 'node:http';
import module from 'node:module';
import { Agent } from 'undici';
import { HOP_BY_HOP, listeningLine, readEnv, roundRobin } from '../ceilings/common.mjs';
import { accessLog, DeadlineList, loadFairwayLibs, parseSteps } from './proxy-steps-common.mjs';

const { backends, host, port } = readEnv(process.env);
const next = roundRobin(backends);
const steps = parseSteps(process.env.STEPS, 'node');
const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 4_000 });
// Fairway's defaults: UPSTREAM_TIMEOUT_MS 10 s, UPSTREAM_READ_TIMEOUT_MS 300 s (the duration does not change the cost).
const upstreamDeadlines = new DeadlineList(10_000);
const readDeadlines = new DeadlineList(300_000);
const libs = steps.has('libs') ? await loadFairwayLibs(process.env, backends) : undefined;
// Started with Fairway's preload (compile cache on), the stripped modules are written now, not only at a clean exit: a
// later start finds them, as Fairway's next start does, and never loads the type stripper.
if (libs) module.flushCompileCache?.();
// As src/runtimes/node.ts serves /lb/*: Hono's app behind @hono/node-server's request listener.
const admin = libs ? (await import('@hono/node-server')).getRequestListener(libs.admin.fetch) : undefined;
const log = steps.has('accesslog') ? (libs?.log ?? accessLog()) : undefined;

function withoutHopByHop(source) {
  const out = {};
  for (const name in source) if (!HOP_BY_HOP.includes(name)) out[name] = source[name];
  return out;
}

let sink = 0;
const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 60_000 }, (req, res) => {
  if (admin && req.url.startsWith('/lb/')) return admin(req, res);
  const startedAt = log ? Date.now() : 0;
  const t0 = log ? performance.now() : 0;
  const address = steps.has('ip') ? req.socket.remoteAddress : undefined;
  const headers = withoutHopByHop(req.headers);
  if (steps.has('reqheaders')) {
    for (const name of ['host', 'content-length', 'referer', 'user-agent', 'x-request-id', 'transfer-encoding']) sink += headers[name]?.length ?? 0;
    headers['x-forwarded-for'] = address ?? '127.0.0.1';
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers.via = '1.1 fairway';
  }
  delete headers.host;
  const id = steps.has('uuid') ? crypto.randomUUID() : 'x';
  if (steps.has('reqheaders')) headers['x-request-id'] = id;
  // As Fairway's relay: undici's dispatch is stopped through the abort it hands over, on the stop signal's 'abort'.
  const controller = steps.has('abort') ? new AbortController() : undefined;
  const onStop = () => {};
  controller?.signal.addEventListener('abort', onStop);
  const timers = steps.has('timers') ? [setTimeout(() => controller?.abort(), 60_000), setTimeout(() => {}, 60_000), setTimeout(() => {}, 300_000)] : [];
  const deadline = steps.has('timerlist') ? upstreamDeadlines.start(() => controller?.abort()) : undefined;
  let reading;
  // 'close' also follows every finished response: only one before 'finish' means the client left (as Fairway checks).
  if (steps.has('listener')) res.on('close', () => res.writableFinished || controller?.abort());
  const origin = next();
  let status = 0;
  let headersMs = 0;
  let bytesOut = 0;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  const done = agent
    .stream({ origin, path: req.url, method: req.method, headers, body: hasBody ? req : null }, ({ statusCode, headers: upstream }) => {
      const out = withoutHopByHop(upstream);
      if (steps.has('resheaders')) {
        // The ceiling already drops the fixed hop-by-hop list; RFC 9110 §7.6.1 adds the fields Connection names.
        sink += upstream.connection?.length ?? 0;
        out['x-request-id'] = id;
        out.via = out.via === undefined ? '1.1 fairway' : `${out.via}, 1.1 fairway`;
      }
      status = statusCode;
      bytesOut = Number(upstream['content-length'] ?? 0);
      if (log) headersMs = performance.now() - t0;
      clearTimeout(timers[0]);
      if (deadline) reading = readDeadlines.start(() => controller?.abort());
      res.writeHead(statusCode, out);
      return res;
    });
  // Only steps that act at the end pay for a hook there; with none, this is the ceiling's own chain.
  const ended = !(deadline || controller || log || timers.length) ? done : done.then(() => {
    if (reading) readDeadlines.cancel(reading);
    if (deadline) upstreamDeadlines.cancel(deadline);
    for (const t of timers) clearTimeout(t);
    controller?.signal.removeEventListener('abort', onStop);
    log?.({
      startedAt,
      requestId: id,
      client: address ?? '',
      method: req.method,
      path: req.url,
      status,
      server: origin,
      headersMs,
      totalMs: performance.now() - t0,
      bytesIn: Number(req.headers['content-length'] ?? 0),
      bytesOut,
      referer: req.headers.referer,
      userAgent: req.headers['user-agent'],
    });
  });
  ended.catch(() => {
    if (!res.headersSent) res.writeHead(502).end('bad gateway');
    else res.destroy();
  });
});
server.listen(port, host, () => console.log(listeningLine('node', server.address().port)));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeIdleConnections();
    process.exit(0);
  });
}
