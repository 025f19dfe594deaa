#!/usr/bin/env node
/**
 * Proxy memory under a large transfer: a 1 GiB upload and a 1 GiB download through Fairway on each runtime,
 * sampling the proxy's RSS (VmRSS from /proc, summed over the process and its descendants) every 50 ms.
 * Each runtime and direction gets a fresh proxy process, so one transfer's leftovers do not inflate the next
 * baseline. Every transfer is checked end to end (byte count and sha256 of numbered 1 MiB blocks).
 *
 *   node bench/memory.mjs                               all four runtimes, 1 GiB each way
 *   node bench/memory.mjs --runtimes node26,bun         a subset (also FAIRWAY_RUNTIMES)
 *   node bench/memory.mjs --bytes 268435456             another size (whole MiB)
 *   node bench/memory.mjs --interval 50                 sampling interval in ms
 *
 * Prints a Markdown table: baseline RSS (after start-up and one warm-up request), peak RSS during the transfer,
 * and the difference, per runtime and direction. Linux only (/proc). Plain .mjs so it runs on any Node >= 20.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { findSystemNode } from '../scripts/lib/processes.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MIB = 1024 * 1024;
const START_TIMEOUT_MS = 30_000;
const TRANSFER_TIMEOUT_MS = 300_000;

function parseArgs(argv) {
  const out = { runtimes: process.env.FAIRWAY_RUNTIMES || 'node20,node26,deno,bun', bytes: 1024 * MIB, interval: 50 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--runtimes') out.runtimes = next();
    else if (a === '--bytes') out.bytes = Number(next());
    else if (a === '--interval') out.interval = Number(next());
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(out.bytes / MIB) || out.bytes <= 0) throw new Error('--bytes must be a positive whole number of MiB');
  if (!(out.interval > 0)) throw new Error('--interval must be positive');
  return out;
}

const RUNTIMES = {
  node20: () => ({ cmd: findSystemNode(), args: ['--import', 'tsx', 'src/runtimes/node.ts'] }),
  node26: () => ({ cmd: path.join(ROOT, 'node_modules/node/bin/node'), args: ['src/runtimes/node.ts'] }), // strips types itself
  deno: () => ({ cmd: path.join(ROOT, 'node_modules/.bin/deno'), args: ['run', '-A', 'src/runtimes/deno.ts'] }),
  bun: () => ({ cmd: path.join(ROOT, 'node_modules/.bin/bun'), args: ['run', 'src/runtimes/bun.ts'] }),
};

// --- data: numbered 1 MiB blocks, so loss, duplication or reordering changes the hash -------------------------

const BASE = randomBytes(MIB);
function block(i) {
  const b = Buffer.from(BASE);
  b.writeBigUInt64BE(BigInt(i), 0);
  return b;
}
function expectedSha256(bytes) {
  const h = createHash('sha256');
  for (let i = 0; i < bytes / MIB; i++) h.update(block(i));
  return h.digest('hex');
}
function drainedOrClosed(out) {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
async function writeBlocks(out, bytes) {
  for (let i = 0; i < bytes / MIB; i++) {
    if (out.destroyed) throw new Error(`destination closed after ${i} MiB`);
    if (!out.write(block(i))) await drainedOrClosed(out);
  }
}
function hashStream(stream) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    stream.on('data', (c) => {
      bytes += c.length;
      h.update(c);
    });
    stream.on('end', () => resolve({ bytes, sha256: h.digest('hex') }));
    stream.on('error', reject);
  });
}

// --- backend -------------------------------------------------------------------------------------------------

function startBackend() {
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/sink') {
      hashStream(req).then(
        (r) => {
          const body = JSON.stringify(r);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        },
        () => res.destroy(),
      );
      return;
    }
    req.resume();
    if (url.pathname === '/source') {
      const bytes = Number(url.searchParams.get('bytes'));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
      writeBlocks(res, bytes).then(
        () => res.end(),
        () => res.destroy(),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// --- proxy process and RSS -------------------------------------------------------------------------------------

function startProxy(runtime, backendUrl) {
  const { cmd, args } = RUNTIMES[runtime]();
  if (!cmd || !fs.existsSync(cmd)) throw new Error(`${runtime}: executable not found (${cmd})`);
  const env = {
    ...process.env,
    BACKEND_SERVERS: backendUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    UPSTREAM_TIMEOUT_MS: '60000',
    NO_COLOR: '1',
  };
  for (const k of ['NODE_OPTIONS', 'FORCE_COLOR', 'TRUST_PROXY', 'PRESERVE_HOST', 'MAX_REQUEST_BODY_BYTES', 'ALGORITHM']) delete env[k];
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c) => {
    if (err.length < 65536) err += c;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${runtime}: no "listening" line within ${START_TIMEOUT_MS} ms\n${out}\n${err}`));
    }, START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${runtime}: exited with ${code} before listening\n${out}\n${err}`));
    });
    child.stdout.on('data', (c) => {
      out += c;
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const l = JSON.parse(line);
          if (l.properties?.event === 'listening') {
            clearTimeout(timer);
            child.removeAllListeners('exit');
            child.stdout.removeAllListeners('data');
            child.stdout.resume();
            resolve({ child, port: l.properties.port });
            return;
          }
        } catch {
          /* partial line */
        }
      }
    });
  });
}

async function stopProxy(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/** VmRSS in bytes of `pid` and all its descendants (0 for a process that is gone). */
function treeRss(pid) {
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop();
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (m) total += Number(m[1]) * 1024;
      for (const tid of fs.readdirSync(`/proc/${p}/task`)) {
        const kids = fs.readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      /* gone */
    }
  }
  return total;
}

function sampler(pid, intervalMs) {
  let peak = treeRss(pid);
  let samples = 1;
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRss(pid));
    samples++;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, treeRss(pid));
      return { peak, samples: samples + 1 };
    },
  };
}

function get(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .on('error', reject);
  });
}

function upload(url, bytes) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', agent: false, headers: { 'content-length': String(bytes), 'content-type': 'application/octet-stream' } });
    const timer = setTimeout(() => req.destroy(new Error('upload timed out')), TRANSFER_TIMEOUT_MS);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) return reject(new Error(`upload answered ${res.statusCode}: ${text.slice(0, 200)}`));
        resolve(JSON.parse(text));
      });
    });
    writeBlocks(req, bytes).then(
      () => req.end(),
      (e) => req.destroy(e),
    );
  });
}

function download(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`download answered ${res.statusCode}`));
      }
      hashStream(res).then((r) => {
        clearTimeout(timer);
        resolve(r);
      }, reject);
    });
    const timer = setTimeout(() => req.destroy(new Error('download timed out')), TRANSFER_TIMEOUT_MS);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const mib = (b) => (b / MIB).toFixed(1);

async function measure(runtime, direction, backend, opts, want) {
  const { child, port } = await startProxy(runtime, `http://127.0.0.1:${backend.address().port}`);
  const base = `http://127.0.0.1:${port}`;
  try {
    // Warm-up: one small proxied request, then let the runtime settle before the baseline.
    if ((await get(`${base}/warm-up`)) !== 200) throw new Error('warm-up request failed');
    await sleep(500);
    const baseline = treeRss(child.pid);
    const s = sampler(child.pid, opts.interval);
    const started = performance.now();
    let result;
    let error;
    try {
      result = direction === 'upload' ? await upload(`${base}/sink`, opts.bytes) : await download(`${base}/source?bytes=${opts.bytes}`);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const seconds = (performance.now() - started) / 1000;
    const { peak, samples } = s.stop();
    const ok = !error && result.bytes === opts.bytes && result.sha256 === want;
    const check = error ?? (ok ? 'ok' : `got ${result.bytes} bytes, sha256 ${result.sha256 === want ? 'matches' : 'differs'}`);
    return { runtime, direction, baseline, peak, samples, seconds, ok, check };
  } finally {
    await stopProxy(child);
  }
}

async function main() {
  if (process.platform !== 'linux') throw new Error('bench/memory.mjs reads /proc: Linux only');
  const opts = parseArgs(process.argv.slice(2));
  const runtimes = opts.runtimes.split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of runtimes) if (!RUNTIMES[r]) throw new Error(`unknown runtime ${r}; use some of ${Object.keys(RUNTIMES).join(', ')}`);
  console.error(`hashing the ${mib(opts.bytes)} MiB reference stream…`);
  const want = expectedSha256(opts.bytes);
  const backend = await startBackend();
  const rows = [];
  try {
    for (const runtime of runtimes) {
      for (const direction of ['upload', 'download']) {
        console.error(`${runtime} ${direction}…`);
        try {
          rows.push(await measure(runtime, direction, backend, opts, want));
        } catch (e) {
          rows.push({ runtime, direction, ok: false, check: e instanceof Error ? e.message.split('\n')[0] : String(e) });
        }
      }
    }
  } finally {
    backend.closeAllConnections?.();
    await new Promise((r) => backend.close(r));
  }
  console.log(`\nProxy RSS during a ${mib(opts.bytes)} MiB transfer (VmRSS of the proxy process tree, sampled every ${opts.interval} ms)\n`);
  console.log('| runtime | direction | baseline RSS (MiB) | peak RSS (MiB) | peak − baseline (MiB) | MiB/s | samples | transfer check |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    if (r.baseline === undefined) {
      console.log(`| ${r.runtime} | ${r.direction} | – | – | – | – | – | FAILED: ${r.check} |`);
      continue;
    }
    console.log(
      `| ${r.runtime} | ${r.direction} | ${mib(r.baseline)} | ${mib(r.peak)} | ${mib(r.peak - r.baseline)} | ${
        r.ok ? (opts.bytes / MIB / r.seconds).toFixed(0) : '–'
      } | ${r.samples} | ${r.ok ? 'ok' : `FAILED: ${r.check}`} |`,
    );
  }
  process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
