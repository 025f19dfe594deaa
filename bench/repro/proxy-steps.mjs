/**
 * A minimal proxy (the ceiling, bench/ceilings/) plus, one at a time, the Web API steps Fairway takes per request,
 * so each step's cost on Deno or Bun can be measured apart from Fairway's code (CPU µs per request under wrk).
 *
 *   STEPS=buffer,abort deno run -A bench/repro/proxy-steps.mjs   |   STEPS=... bun bench/repro/proxy-steps.mjs
 *   env: BACKEND_SERVERS, HOST, PORT as for the ceilings. Steps: see STEP below.
 */
import { HOP_BY_HOP, listeningLine, readEnv, roundRobin } from '../ceilings/common.mjs';

const isDeno = typeof Deno !== 'undefined';
const env = isDeno ? Deno.env.toObject() : process.env;
const { backends, host, port } = readEnv(env);
const next = roundRobin(backends);
const steps = new Set((env.STEPS ?? '').split(',').filter(Boolean));
const STEP = {
  ip: 'read the client address (Bun: server.requestIP; Deno: info.remoteAddr)',
  abort: 'a new AbortController per request, its signal passed to fetch',
  timers: 'three setTimeout + clearTimeout pairs (UPSTREAM_TIMEOUT_MS and the read timer)',
  listener: "request.signal.addEventListener('abort') and removeEventListener",
  uuid: 'crypto.randomUUID() (the request id)',
  reqheaders: 'the request header rules: six get()s, four set()s (X-Forwarded-*, Via, X-Request-Id)',
  copyheaders: 'new Headers(upstream.headers) and a new Response around the native body',
  resheaders: 'the response header rules: copy, a few get()s, delete()s and set()s',
  buffer: 'read the body whole (arrayBuffer()) and answer new Response(bytes)',
  cheapcopy: 'copy headers as new Response(null, { headers }).headers (Deno: skips the webidl sequence conversion)',
  setafter: 'new Response(body, { status }) first, then set each header on response.headers',
  stream: 'pass the body through a JavaScript ReadableStream (highWaterMark 0)',
  completed: "Deno: wait on info.completed (Fairway's exact end of a natively sent body)",
  url: 'new URL(request.url)',
  tls: 'Bun: a `tls` option on every fetch (Fairway passes UPSTREAM_CA_FILE and UPSTREAM_TLS_INSECURE so)',
};
for (const s of steps) if (!(s in STEP)) throw new Error(`unknown step ${s}; known: ${Object.keys(STEP).join(', ')}`);

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
async function handle(request, address) {
  const url = request.url;
  if (steps.has('url')) sink += new URL(url).pathname.length;
  const target = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  const headers = new Headers(request.headers);
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
  const id = steps.has('uuid') ? crypto.randomUUID() : 'x';
  if (steps.has('reqheaders')) headers.set('x-request-id', id);
  const controller = steps.has('abort') ? new AbortController() : undefined;
  const timers = steps.has('timers') ? [setTimeout(() => controller?.abort(), 60_000), setTimeout(() => {}, 60_000), setTimeout(() => {}, 300_000)] : [];
  const onAbort = () => controller?.abort();
  if (steps.has('listener')) request.signal.addEventListener('abort', onAbort);
  let upstream;
  try {
    upstream = await fetch(next() + target, {
      method: request.method,
      headers,
      body: request.body,
      redirect: 'manual',
      ...(controller ? { signal: controller.signal } : {}),
      ...(isDeno ? {} : { decompress: false }),
      ...(steps.has('tls') ? { tls: { rejectUnauthorized: true } } : {}),
    });
  } catch {
    return new Response('bad gateway', { status: 502 });
  } finally {
    clearTimeout(timers[0]);
  }
  let response = upstream;
  if (steps.has('copyheaders') || steps.has('resheaders') || steps.has('buffer') || steps.has('stream')) {
    const out = steps.has('cheapcopy') ? new Response(null, { headers: upstream.headers }).headers : new Headers(upstream.headers);
    if (steps.has('resheaders')) {
      for (const name of ['connection', 'keep-alive', 'content-length', 'content-type']) sink += out.get(name)?.length ?? 0;
      out.delete('keep-alive');
      out.set('x-request-id', id);
      out.append('via', '1.1 fairway');
    }
    const init = { status: upstream.status, statusText: upstream.statusText, headers: out };
    let body = upstream.body;
    if (steps.has('buffer')) body = new Uint8Array(await upstream.arrayBuffer());
    else if (steps.has('stream') && body !== null) body = passThrough(body);
    if (steps.has('setafter')) {
      response = new Response(body, { status: init.status, statusText: init.statusText });
      out.forEach((value, name) => response.headers.append(name, value));
    } else response = new Response(body, init);
  }
  for (const t of timers.slice(1)) clearTimeout(t);
  if (steps.has('listener')) request.signal.removeEventListener('abort', onAbort);
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
