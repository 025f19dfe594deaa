/**
 * A minimal proxy (the ceiling, bench/ceilings/) plus, one at a time, the Web API steps Fairway takes per request,
 * so each step's cost on Deno or Bun can be measured apart from Fairway's code (CPU µs per request under wrk).
 * `STEPS=required` turns on every step the issues require (proxy-steps-common.mjs says which and why); Node's
 * counterpart is proxy-steps-node.mjs. `node bench/run.mjs --steps deno` measures them all in one run.
 *
 *   STEPS=buffer,abort deno run -A bench/repro/proxy-steps.mjs   |   STEPS=required bun bench/repro/proxy-steps.mjs
 *   env: BACKEND_SERVERS, HOST, PORT as for the ceilings. Steps: see STEPS in proxy-steps-common.mjs.
 */
import { HOP_BY_HOP, listeningLine, readEnv, roundRobin } from '../ceilings/common.mjs';
import { accessLog, DeadlineList, loadFairwayLibs, parseSteps } from './proxy-steps-common.mjs';

const isDeno = typeof Deno !== 'undefined';
const env = isDeno ? Deno.env.toObject() : process.env;
const { backends, host, port } = readEnv(env);
const next = roundRobin(backends);
const steps = parseSteps(env.STEPS, 'web');
// Fairway's defaults: UPSTREAM_TIMEOUT_MS 10 s, UPSTREAM_READ_TIMEOUT_MS 300 s (the duration does not change the cost).
const upstreamDeadlines = new DeadlineList(10_000);
const readDeadlines = new DeadlineList(300_000);
const libs = steps.has('libs') ? await loadFairwayLibs(env, backends) : undefined;
const log = steps.has('accesslog') ? (libs?.log ?? accessLog()) : undefined;

function passThrough(body) {
  const reader = body.getReader();
  return new ReadableStream({
    async pull(controller) {
      const chunk = await reader.read();
      if (chunk.done) controller.close();
      else controller.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

let sink = 0;

/** The response header rules on a mutable Headers. */
function responseRules(out, id) {
  // RFC 9110 §7.6.1: the fields Connection names are hop-by-hop too.
  sink += out.get('connection')?.length ?? 0;
  for (const name of HOP_BY_HOP) out.delete(name);
  out.set('x-request-id', id);
  out.append('via', '1.1 fairway');
}

async function handle(request, address) {
  const startedAt = log ? Date.now() : 0;
  const t0 = log ? performance.now() : 0;
  const url = request.url;
  if (steps.has('url')) sink += new URL(url).pathname.length;
  const target = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  if (libs && target.startsWith('/lb/')) return libs.admin.fetch(request);
  const id = steps.has('uuid') ? crypto.randomUUID() : 'x';
  let headers;
  // Deno's ceiling copies the request's fields this way (its cheapest); on Bun, `recordcopy` asks for it.
  if (isDeno || steps.has('recordcopy')) {
    // One forEach into a plain record (fast on both runtimes), the rules written into it, the record handed to fetch.
    headers = {};
    request.headers.forEach((value, name) => {
      if (name !== 'host' && !HOP_BY_HOP.includes(name)) headers[name] = value;
    });
    if (steps.has('reqheaders')) {
      for (const name of ['content-length', 'referer', 'user-agent', 'x-request-id', 'transfer-encoding']) sink += headers[name]?.length ?? 0;
      headers['x-forwarded-for'] = address ?? '127.0.0.1';
      headers['x-forwarded-proto'] = 'http';
      headers['x-forwarded-host'] = request.headers.get('host') ?? '';
      headers.via = headers.via === undefined ? '1.1 fairway' : `${headers.via}, 1.1 fairway`;
      headers['x-request-id'] = id;
    }
    if (isDeno) headers['accept-encoding'] = 'identity';
  } else {
    headers = new Headers(request.headers);
    for (const name of HOP_BY_HOP) headers.delete(name);
    if (steps.has('reqheaders')) {
      for (const name of ['host', 'content-length', 'referer', 'user-agent', 'x-request-id', 'transfer-encoding']) sink += headers.get(name)?.length ?? 0;
      headers.set('x-forwarded-for', address ?? '127.0.0.1');
      headers.set('x-forwarded-proto', 'http');
      headers.set('x-forwarded-host', request.headers.get('host') ?? '');
      headers.set('via', '1.1 fairway');
    }
    headers.delete('host');
    if (isDeno) headers.set('accept-encoding', 'identity');
    if (steps.has('reqheaders')) headers.set('x-request-id', id);
  }
  const controller = steps.has('abort') ? new AbortController() : undefined;
  const timers = steps.has('timers') ? [setTimeout(() => controller?.abort(), 60_000), setTimeout(() => {}, 60_000), setTimeout(() => {}, 300_000)] : [];
  const deadline = steps.has('timerlist') ? upstreamDeadlines.start(() => controller?.abort()) : undefined;
  const onAbort = () => controller?.abort();
  if (steps.has('listener')) request.signal.addEventListener('abort', onAbort);
  const server = next();
  let upstream;
  try {
    upstream = await fetch(server + target, {
      method: request.method,
      headers,
      body: request.body,
      redirect: 'manual',
      ...(controller ? { signal: controller.signal } : {}),
      ...(isDeno ? {} : { decompress: false }),
      ...(steps.has('tls') ? { tls: { rejectUnauthorized: true } } : {}),
    });
  } catch {
    if (deadline) upstreamDeadlines.cancel(deadline);
    return new Response('bad gateway', { status: 502 });
  } finally {
    clearTimeout(timers[0]);
  }
  const headersMs = log ? performance.now() - t0 : 0;
  // The read timer runs from the response head until the body is read (Fairway restarts it per chunk).
  const reading = deadline ? readDeadlines.start(() => controller?.abort()) : undefined;
  let response = upstream;
  let bytesOut = 0;
  if (steps.has('copyheaders') || steps.has('resheaders') || steps.has('buffer') || steps.has('stream')) {
    let body = upstream.body;
    if (steps.has('buffer')) {
      body = new Uint8Array(await upstream.arrayBuffer());
      bytesOut = body.byteLength;
    } else if (steps.has('stream') && body !== null) body = passThrough(body);
    if (steps.has('copyinto')) {
      // One copy: the Response constructor's own, of the server's headers; the rules then act on the new response's.
      response = new Response(body, { status: upstream.status, statusText: upstream.statusText, headers: upstream.headers });
      if (steps.has('resheaders')) responseRules(response.headers, id);
    } else {
      const out = steps.has('cheapcopy') ? new Response(null, { headers: upstream.headers }).headers : new Headers(upstream.headers);
      if (steps.has('resheaders')) responseRules(out, id);
      const init = { status: upstream.status, statusText: upstream.statusText, headers: out };
      if (steps.has('setafter')) {
        response = new Response(body, { status: init.status, statusText: init.statusText });
        out.forEach((value, name) => response.headers.append(name, value));
      } else response = new Response(body, init);
    }
  }
  if (reading) readDeadlines.cancel(reading);
  if (deadline) upstreamDeadlines.cancel(deadline);
  for (const t of timers.slice(1)) clearTimeout(t);
  if (steps.has('listener')) request.signal.removeEventListener('abort', onAbort);
  log?.({
    startedAt,
    requestId: id,
    client: address ?? '',
    method: request.method,
    path: target,
    status: response.status,
    server,
    headersMs,
    totalMs: performance.now() - t0,
    bytesIn: Number(request.headers.get('content-length') ?? 0),
    bytesOut: bytesOut || Number(upstream.headers.get('content-length') ?? 0),
    referer: request.headers.get('referer'),
    userAgent: request.headers.get('user-agent'),
  });
  return response;
}

if (isDeno) {
  const server = Deno.serve({ hostname: host, port, onListen: ({ port }) => console.log(listeningLine('deno', port)) }, (request, info) => {
    const address = steps.has('ip') ? info.remoteAddr.hostname : undefined;
    if (steps.has('completed')) info.completed.then(() => sink++, () => {});
    return handle(request, address);
  });
  for (const signal of ['SIGINT', 'SIGTERM']) Deno.addSignalListener(signal, () => void server.shutdown().then(() => Deno.exit(0)));
} else {
  const server = Bun.serve({
    hostname: host,
    port,
    idleTimeout: 0,
    fetch: (request, server) => handle(request, steps.has('ip') ? server.requestIP(request)?.address : undefined),
  });
  console.log(listeningLine('bun', server.port));
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => (server.stop(true), process.exit(0)));
}
