/**
 * When does Bun's fetch re-send a request by itself? A raw node:net origin (run by Node) answers the first
 * request on each connection with a kept-alive 200, then fails the second one in a chosen way; Bun's fetch (a
 * child process) sends a warm-up GET, then the request under test on the reused connection. The origin counts
 * how many times each request's head and whole body arrived, over how many connections.
 *
 *   node bench/repro/bun-fetch-retry.mjs              (BUN=path/to/bun, default node_modules/.bin/bun)
 *   CLIENT=deno node bench/repro/bun-fetch-retry.mjs  the same with Deno's fetch (node_modules/.bin/deno)
 *
 * Failures of the reused connection (the second request on it):
 *   rst-on-head     the origin resets the connection as soon as the request's first bytes arrive (read nothing else)
 *   fin-on-head     the origin closes (FIN) as soon as the request's first bytes arrive
 *   rst-after-body  the origin reads the whole request (head and body), then resets without answering
 *   fin-after-body  the origin reads the whole request, then closes (FIN) without answering
 *   fin-idle        the origin closes the connection right after the warm-up's answer (an idle close Bun may miss)
 *   rst-fresh       control: the request under test on a new connection, reset after its whole body arrived
 *   rst-every-reuse two warm-up GETs in parallel leave two idle connections; every request on a reused one is reset
 *                   after its whole body arrived (how many times does Bun retry?)
 *
 * MODES and KINDS (comma-separated) narrow the run.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MODES = (process.env.MODES ?? 'rst-on-head,fin-on-head,rst-after-body,fin-after-body,fin-idle,rst-fresh,rst-every-reuse').split(',');
const KINDS = (process.env.KINDS ?? 'GET,POST-buffered,POST-stream,PUT-buffered,PUT-stream,PATCH-buffered,DELETE').split(',');
const STREAM_CHUNKS = 4, CHUNK = 16 * 1024;

if (process.argv[2] === '--client') {
  // Runs under Bun: one fetch per line of the plan on stdin's argument, results as JSON on stdout.
  const [port, mode, kind] = process.argv.slice(3);
  const base = `http://127.0.0.1:${port}`;
  const out = {};
  if (mode !== 'rst-fresh') {
    const warmups = mode === 'rst-every-reuse' ? ['warm1', 'warm2'] : ['warm'];
    await Promise.all(warmups.map(async (id) => (await fetch(`${base}/warm`, { headers: { 'x-id': id } })).text()));
    if (mode === 'fin-idle') await new Promise((r) => setTimeout(r, 50)); // the FIN has certainly arrived
  }
  const id = `${kind}-${mode}`;
  const [method, bodyKind] = kind.split('-');
  const init = { method, headers: { 'x-id': id } };
  if (bodyKind === 'buffered') init.body = new TextEncoder().encode(`body of ${id}`);
  if (bodyKind === 'stream') {
    let n = 0;
    init.body = new ReadableStream({
      pull(c) {
        if (n === STREAM_CHUNKS) return c.close();
        n++;
        c.enqueue(new Uint8Array(CHUNK).fill(0x61));
      },
    });
    init.duplex = 'half';
    out.streamPulls = () => n;
  }
  try {
    const res = await fetch(`${base}/test`, { ...init, decompress: false });
    out.result = `${res.status} ${await res.text()}`;
  } catch (e) {
    out.result = `error ${e.code ?? e.name}: ${e.message}`;
  }
  if (out.streamPulls) out.streamPulls = out.streamPulls();
  console.log(JSON.stringify(out));
  process.exit(0);
}

/** A minimal HTTP/1.1 request reader: Content-Length or chunked bodies, enough for Bun's fetch. */
function parseRequest(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1');
  const id = /\r\nx-id: *([^\r]*)/i.exec(head)?.[1] ?? '?';
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  const rest = buf.subarray(end + 4);
  if (length) return { id, head, complete: rest.length >= Number(length[1]), bodyBytes: Math.min(rest.length, Number(length[1])) };
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    return { id, head, complete: rest.includes('\r\n0\r\n\r\n') || rest.subarray(0, 5).toString() === '0\r\n\r\n', bodyBytes: rest.length };
  }
  return { id, head, complete: true, bodyBytes: 0 };
}

function origin(mode) {
  const seen = new Map(); // id -> { heads, bodies, bodyBytes: [] }
  let connections = 0;
  const server = net.createServer((socket) => {
    const conn = ++connections;
    let requests = 0, buf = Buffer.alloc(0), counted = false;
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const req = parseRequest(buf);
      if (!req) return;
      const entry = seen.get(req.id) ?? { heads: 0, bodies: 0, bodyBytes: [], connections: [] };
      seen.set(req.id, entry);
      if (!counted) {
        counted = true;
        entry.heads++;
        entry.connections.push(conn);
      }
      const testing = mode === 'rst-fresh' ? requests === 0 : requests >= 1;
      if (testing && mode.endsWith('on-head')) {
        entry.bodyBytes.push(req.bodyBytes);
        if (req.complete) entry.bodies++;
        return mode.startsWith('rst') ? socket.resetAndDestroy() : socket.end();
      }
      if (!req.complete) return;
      entry.bodies++;
      entry.bodyBytes.push(req.bodyBytes);
      buf = Buffer.alloc(0);
      counted = false;
      requests++;
      if (testing) return mode.startsWith('rst') ? socket.resetAndDestroy() : socket.end();
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\nkeep-alive: timeout=60\r\n\r\nok');
      if (mode === 'fin-idle' && requests === 1) socket.end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, seen, connections: () => connections })));
}

const here = path.dirname(fileURLToPath(import.meta.url));
const deno = process.env.CLIENT === 'deno';
const bun = deno ? path.join(here, '../../node_modules/.bin/deno') : process.env.BUN ?? path.join(here, '../../node_modules/.bin/bun');
const clientArgs = deno ? ['run', '-A'] : [];
const version = await new Promise((resolve) => {
  const p = spawn(bun, ['--version']);
  let v = '';
  p.stdout.on('data', (d) => (v += d));
  p.on('close', () => resolve(v.trim()));
});
console.log(`${deno ? '' : 'Bun '}${version.split('\n')[0]}; streamed body: ${STREAM_CHUNKS} x ${CHUNK} bytes, chunked`);
console.log('mode            request        times the origin saw the request: heads, whole bodies (connections)  fetch result');
for (const mode of MODES) {
  for (const kind of KINDS) {
    const { server, seen, connections } = await origin(mode);
    const child = spawn(bun, [...clientArgs, fileURLToPath(import.meta.url), '--client', String(server.address().port), mode, kind], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await new Promise((r) => child.on('close', r));
    clearTimeout(timer);
    server.close();
    const out = text ? JSON.parse(text) : { result: 'client timed out' };
    const s = seen.get(`${kind}-${mode}`) ?? { heads: 0, bodies: 0, connections: [] };
    const twice = s.bodies > 1 ? '  <== body arrived twice' : '';
    console.log(
      `${mode.padEnd(15)} ${kind.padEnd(14)} heads ${s.heads}, bodies ${s.bodies} (on connections ${s.connections.join(',')} of ${connections()})`.padEnd(100) +
        ` ${out.result}${twice}`,
    );
  }
}
