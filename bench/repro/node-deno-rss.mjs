/**
 * What Node 26's and Deno's peak RSS under load is made of, for the ceilings (bench/ceilings/) and Fairway, with V8
 * flags as variants, in interleaved rounds: idle and peak RSS (the whole process tree, VmRSS sampled every 100 ms as
 * bench/run.mjs does), req/s, and at the peak: V8's heap spaces, memoryUsage() and /proc/self/smaps by kind
 * (rss-hook.mjs, loaded into the target). Two nginx servers as origins, `wrk -t1 -c50` on /small, as the small scenario.
 *
 *   flock /tmp/bench.lock node bench/repro/node-deno-rss.mjs [--rounds 2] [--duration 4] \
 *     'ceiling-node26' 'ceiling-node26:--max-semi-space-size=1' 'fairway-deno' 'ceiling-deno:--max-semi-space-size=2' ...
 *
 * A variant is `<app>-<runtime>[:<V8 flag>,...]` with app ceiling, fairway, base (Fairway from the checkout given
 * with `--baseline-root DIR`, for a before/after in one run) or steps (proxy-steps*.mjs, with `+STEPS=...`) and runtime node26 or deno; `+ENV=value` among the flags
 * sets an environment variable instead.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HOOK = path.join(import.meta.dirname, 'rss-hook.mjs');
const NODE26 = path.join(ROOT, 'node_modules/node/bin/node');
const DENO = path.join(ROOT, 'node_modules/.bin/deno');
const MiB = 1024 * 1024;

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const [value] = argv.splice(i, 2).slice(1);
  return Number(value);
};
const textOption = (name) => {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv.splice(i, 2)[1];
};
const baselineRoot = textOption('--baseline-root');
const rounds = option('--rounds', 2);
const duration = option('--duration', 4);
const warmup = option('--warmup', 1);
const variants = argv.length > 0 ? argv : ['ceiling-node26', 'ceiling-deno'];

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A process and its descendants. */
function tree(pid) {
  const all = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    try {
      all.push(p);
      for (const t of fs.readdirSync(`/proc/${p}/task`)) {
        const kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // The process ended meanwhile.
    }
  }
  return all;
}

/** VmRSS summed over a process and its descendants, in bytes. */
const treeRss = (pid) => tree(pid).reduce((sum, p) => sum + field(p, 'status', /VmRSS:\s+(\d+)/) * 1024, 0);
/** User + system CPU of a process tree, in clock ticks (1/100 s). */
const treeTicks = (pid) =>
  tree(pid).reduce((sum, p) => {
    const stat = read(`/proc/${p}/stat`);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return sum + Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }, 0);
function read(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
const field = (p, file, pattern) => Number(pattern.exec(read(`/proc/${p}/${file}`))?.[1] ?? 0);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'node-deno-rss-'));
const children = [];
process.on('exit', () => {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

async function startNginx() {
  const ports = [await freePort(), await freePort()];
  fs.mkdirSync(path.join(tmp, 'www'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'www/small'), 'a'.repeat(128));
  const servers = ports.map((p) => `server { listen 127.0.0.1:${p}; root ${tmp}/www; location = /small { default_type text/plain; } }`).join('\n');
  fs.writeFileSync(
    path.join(tmp, 'nginx.conf'),
    `worker_processes 1; daemon off; pid ${tmp}/nginx.pid; error_log ${tmp}/error.log warn; events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${tmp}; proxy_temp_path ${tmp}; fastcgi_temp_path ${tmp}; uwsgi_temp_path ${tmp}; scgi_temp_path ${tmp};
keepalive_requests 1000000; keepalive_timeout 60s; ${servers} }`,
  );
  const child = spawn('nginx', ['-p', tmp, '-c', path.join(tmp, 'nginx.conf'), '-e', path.join(tmp, 'error.log')], { detached: true, stdio: 'ignore' });
  children.push(child);
  await sleep(500);
  return ports.map((p) => `http://127.0.0.1:${p}`);
}

function command(variant) {
  const [name, flagList = ''] = variant.split(':');
  const [app, runtime] = name.split('-');
  const flags = flagList.split(',').filter(Boolean);
  const v8Flags = flags.filter((f) => !f.startsWith('+'));
  const env = Object.fromEntries(flags.filter((f) => f.startsWith('+')).map((f) => f.slice(1).split('=')));
  const entry = app === 'ceiling'
    ? path.join(ROOT, 'bench/ceilings', `${runtime === 'deno' ? 'deno' : 'node'}.mjs`)
    : app === 'steps'
    ? path.join(ROOT, 'bench/repro', runtime === 'deno' ? 'proxy-steps.mjs' : 'proxy-steps-node.mjs')
    : path.join(app === 'base' ? path.resolve(baselineRoot) : ROOT, 'src/runtimes', `${runtime === 'deno' ? 'deno' : 'node'}.ts`);
  if (runtime === 'deno') {
    return { cmd: DENO, args: ['run', '-A', ...(v8Flags.length ? [`--v8-flags=${v8Flags.join(',')}`] : []), '--preload', HOOK, entry], env };
  }
  return { cmd: NODE26, args: [...v8Flags, '--import', HOOK, entry], env };
}

async function measure(variant, backends) {
  const port = await freePort();
  const out = path.join(tmp, `hook-${port}.json`);
  const log = path.join(tmp, `out-${port}.log`);
  const { cmd, args, env } = command(variant);
  const fd = fs.openSync(log, 'w');
  const child = spawn(cmd, args, {
    cwd: variant.startsWith('base-') ? path.resolve(baselineRoot) : ROOT,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env, BACKEND_SERVERS: backends.join(','), PORT: String(port), HOST: '127.0.0.1', RSS_HOOK_OUT: out },
  });
  children.push(child);
  for (let i = 0; i < 200 && !fs.readFileSync(log, 'utf8').includes('listening'); i++) await sleep(50);
  await sleep(1000);
  const idle = treeRss(child.pid);
  const idleSnapshot = JSON.parse(fs.readFileSync(out, 'utf8'));
  const url = `http://127.0.0.1:${port}/small`;
  if (warmup > 0) execFileSync('wrk', ['-t1', '-c50', `-d${warmup}s`, url], { stdio: 'ignore' });
  let peak = treeRss(child.pid);
  const ticks = treeTicks(child.pid);
  const sampler = setInterval(() => (peak = Math.max(peak, treeRss(child.pid))), 100);
  const wrk = await new Promise((resolve) => {
    let text = '';
    const w = spawn('wrk', ['-t1', '-c50', `-d${duration}s`, url]);
    w.stdout.on('data', (d) => (text += d));
    w.on('close', () => resolve(text));
  });
  clearInterval(sampler);
  peak = Math.max(peak, treeRss(child.pid));
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(wrk)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(wrk)?.[1] ?? 0);
  const cpuUsPerReq = ((treeTicks(child.pid) - ticks) * 10_000) / Math.max(1, requests);
  const atPeak = JSON.parse(fs.readFileSync(out, 'utf8'));
  process.kill(-child.pid, 'SIGTERM');
  await new Promise((r) => child.once('exit', r));
  fs.closeSync(fd);
  return { variant, idle, peak, rps, cpuUsPerReq, idleSnapshot, atPeak };
}

const mib = (b) => (b / MiB).toFixed(1);
function breakdown(s) {
  const sp = (name) => s.spaces[name]?.physical ?? 0;
  const v8Physical = s.heap.physical;
  const anon = s.smaps.anonymous + s.smaps.brkHeap;
  return [
    `rss ${mib(s.rss)}`,
    `binary ${mib(s.smaps.binary)} + other files ${mib(s.smaps.otherFiles)} + anon ${mib(anon)} (brk ${mib(s.smaps.brkHeap)})`,
    `V8 heap ${mib(v8Physical)} = new ${mib(sp('new_space'))} + old ${mib(sp('old_space'))} (used ${mib(s.spaces.old_space?.used ?? 0)}) + code ${
      mib(sp('code_space'))
    } + trusted ${mib(sp('trusted_space'))} + large ${mib(sp('large_object_space') + sp('new_large_object_space'))}; external ${
      mib(s.usage.external)
    }; anon outside V8 heap ${mib(anon - v8Physical)}`,
  ].join(' | ');
}

const backends = await startNginx();
const results = Object.fromEntries(variants.map((v) => [v, []]));
for (let round = 0; round < rounds; round++) {
  const order = variants.map((_, i) => variants[(i + round) % variants.length]);
  for (const v of order) {
    const r = await measure(v, backends);
    results[v].push(r);
    console.log(`round ${round + 1} ${v}: idle ${mib(r.idle)} MiB, peak ${mib(r.peak)} MiB, ${r.rps.toFixed(0)} req/s, ${r.cpuUsPerReq.toFixed(0)} CPU µs/req`);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(
  '\n| variant | idle MiB | peak MiB | req/s | req/s ÷ first variant of its runtime (per round, median) | CPU µs/req |\n| --- | ---: | ---: | ---: | ---: | ---: |',
);
for (const v of variants) {
  const runtime = v.split(':')[0].split('-')[1];
  const ref = variants.find((x) => x.split(':')[0].split('-')[1] === runtime);
  const ratios = results[v].map((r, i) => r.rps / results[ref][i].rps);
  console.log(
    `| ${v} | ${mib(median(results[v].map((r) => r.idle)))} | ${mib(median(results[v].map((r) => r.peak)))} | ${
      median(results[v].map((r) => r.rps)).toFixed(0)
    } | ${median(ratios).toFixed(2)} | ${median(results[v].map((r) => r.cpuUsPerReq)).toFixed(0)} |`,
  );
}
console.log('\nAt idle and at the peak (last round), from inside the process:');
for (const v of variants) {
  const last = results[v].at(-1);
  console.log(`- ${v}\n  idle: ${breakdown(last.idleSnapshot)}\n  peak: ${breakdown(last.atPeak)}`);
}
process.exit(0);
