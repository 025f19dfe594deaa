/**
 * What each module group costs Fairway at idle on Node 26, Deno and Bun: one fresh process per runtime imports the
 * groups below in turn (cumulatively, in start-up order) and after each prints RSS and JS heap used after a full GC,
 * and the difference to the line before. A last process per runtime starts Fairway itself (default settings but
 * BACKEND_SERVERS) and reports its idle figures the same way. Order matters: a group's delta is what it adds on top of
 * those above it (a module two groups share counts for the first).
 *
 *   node bench/repro/startup-rss.mjs [node26|deno|bun ...]     (Linux; about 20 s; no load, no lock needed)
 *   env FAIRWAY_ROOT: the checkout to measure (default: this one).
 *   node bench/repro/startup-rss.mjs --compare OTHER_ROOT [--repeat 3] [runtimes]: only Fairway started and idle, this
 *   checkout and OTHER_ROOT alternately (a before/after in one run), with the time from spawn to the listening line.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const HERE = path.resolve(import.meta.dirname, '../..');
let ROOT = path.resolve(process.env.FAIRWAY_ROOT ?? HERE);
const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv.splice(i, 2)[1];
};
const compare = flag('--compare');
const repeat = Number(flag('--repeat') ?? 3);
const TOOLS = {
  node26: [path.join(HERE, 'node_modules/node/bin/node'), ['--expose-gc', '--input-type=module', '-e']],
  deno: [path.join(HERE, 'node_modules/.bin/deno'), ['eval', '--v8-flags=--expose-gc', '--ext=js']],
  bun: [path.join(HERE, 'node_modules/.bin/bun'), ['-e']],
};
const src = (p) => `./${p}`;
/** [group, specifiers imported] in start-up order; a specifier `rt:` is the runtime's own folder. */
const GROUPS = [
  ['runtime alone', []],
  // Node 26 strips types itself: the first .ts module loads its stripper (amaro).
  ['first .ts module (type stripping)', [src('src/core/plural.ts')]],
  ['zod', ['zod']],
  ['config schema (config.ts)', [src('src/core/config/config.ts')]],
  ['LogTape + logging.ts', ['@logtape/logtape', src('src/core/logging.ts')]],
  ['Hono', ['hono']],
  ['admin routes (without dashboard)', [src('src/core/admin/admin-routes.ts')]],
  ['dashboard page', [src('src/core/admin/dashboard-page.ts')]],
  ['metrics/stats', [src('src/core/stats/observability.ts'), src('src/core/stats/metrics.ts'), src('src/core/stats/stats-report.ts')]],
  ['health checker', [src('src/core/upstream/health-checker.ts')]],
  ['core: selection, pool, lifecycle', [src('src/core/balancer.ts')]],
  ['websocket relay', [
    src('src/core/proxy/websocket/upgrade-exchange.ts'),
    'rt:websocket',
  ]],
  ['demo backend', [src('src/core/demo-backend.ts')]],
  ['cluster/workers supervisor', [
    src('src/core/cluster/cluster-hub.ts'),
    src('src/core/cluster/cluster-member.ts'),
    src('src/core/workers/supervisor.ts'),
    'rt:workers',
  ]],
  ['core: bootstrap.ts (rest)', [src('src/core/bootstrap.ts')]],
  ['runtime adapter (serve, forwarder)', ['rt:serve']],
  ['TLS/HTTP2 helpers', ['rt:tls']],
  ['valibot + admin API (ADMIN_TOKEN)', ['valibot', '@hono/valibot-validator', src('src/core/admin/admin-api.ts')]],
];
/** The runtime's own modules per group. */
const PER_RUNTIME = {
  node26: {
    websocket: [src('src/runtimes/node/upgrade-handler.ts')],
    workers: [src('src/runtimes/node/workers.ts')],
    serve: [
      '@hono/node-server',
      'undici',
      src('src/runtimes/node/native-forwarder.ts'),
      src('src/runtimes/node/undici-upstream.ts'),
      src('src/runtimes/shared/protocol-files.ts'),
    ],
    tls: [src('src/runtimes/node/balancer-server.ts'), 'node:http2', 'node:tls', src('src/runtimes/shared/tls-files.ts')],
  },
  deno: {
    websocket: [src('src/runtimes/shared/websocket-exchange.ts'), src('src/runtimes/deno/websocket-relay.ts')],
    workers: [src('src/runtimes/deno/workers.ts')],
    serve: [src('src/runtimes/deno/serve.ts'), src('src/runtimes/deno/chunk-release.ts'), src('src/runtimes/shared/protocol-files.ts')],
    tls: [
      src('src/runtimes/deno/declared-length-upstream.ts'),
      'node:tls',
      src('src/runtimes/shared/tls-files.ts'),
      src('src/runtimes/deno/serve-balancer.ts'),
    ],
  },
  bun: {
    websocket: [src('src/runtimes/shared/websocket-exchange.ts'), src('src/runtimes/bun/websocket-relay.ts')],
    workers: [src('src/runtimes/bun/workers.ts')],
    serve: [src('src/runtimes/bun/serve.ts'), src('src/runtimes/bun/serve-balancer.ts'), src('src/runtimes/shared/protocol-files.ts')],
    tls: ['node:tls', src('src/runtimes/shared/tls-files.ts')],
  },
};
const ENTRY = { node26: 'src/runtimes/node.ts', deno: 'src/runtimes/deno.ts', bun: 'src/runtimes/bun.ts' };

const MEASURE = `async function measure(label) {
  const bun = globalThis.Bun;
  if (bun) bun.gc(true); else for (let i = 0; i < 3; i++) globalThis.gc();
  await new Promise((r) => setTimeout(r, 50));
  const s = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');
  const kib = (k) => Number(s.match(new RegExp(k + ':\\\\s+(\\\\d+)'))[1]);
  const heap = bun ? (await import('bun:jsc')).heapStats().heapSize : globalThis.Deno ? Deno.memoryUsage().heapUsed : process.memoryUsage().heapUsed;
  console.log('@@' + JSON.stringify({ label, rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile'), heap }));
}\n`;

function script(rt) {
  let code = MEASURE;
  for (const [label, specs] of GROUPS) {
    const all = specs.flatMap((s) => (s.startsWith('rt:') ? PER_RUNTIME[rt][s.slice(3)] : [s]));
    for (const s of all) code += `await import(${JSON.stringify(s.startsWith('./') ? path.join(ROOT, s) : s)});\n`;
    code += `await measure(${JSON.stringify(label)});\n`;
  }
  return code + 'process.exit(0);\n';
}

// Node starts as `npm start` does: scripts/typescript-loader.mjs first (in this checkout, it turns on the compile cache).
const preload = (rt) => (rt === 'node26' ? `await import(${JSON.stringify(path.join(ROOT, 'scripts/typescript-loader.mjs'))});\n` : '');
const startedScript = (rt) =>
  `${MEASURE}const t0 = performance.now(); ${preload(rt)}await import(${JSON.stringify(path.join(ROOT, ENTRY[rt]))});
console.log('@@' + JSON.stringify({ label: 'startMs', ms: performance.now() - t0 }));
await new Promise((r) => setTimeout(r, 1500)); await measure('Fairway started, idle');
await new Promise((r) => setTimeout(r, 1500)); await measure('Fairway started, idle 3 s');
process.exit(0);\n`;

function run(rt, code, env = {}) {
  const [cmd, args] = TOOLS[rt];
  // Bun: the JSC options npm run start:bun sets; Deno: -A as in `deno run -A`.
  const runtimeEnv = rt === 'bun' ? { BUN_JSC_useFTLJIT: '0', BUN_JSC_forceRAMSize: '536870912' } : {};
  const argv = rt === 'deno' ? [...args, code] : [...args, code];
  const out = spawnSync(cmd, argv, { cwd: ROOT, env: { ...process.env, ...runtimeEnv, ...env }, encoding: 'utf8', timeout: 60_000 });
  const lines = out.stdout.split('\n').filter((l) => l.startsWith('@@')).map((l) => JSON.parse(l.slice(2)));
  if (lines.length === 0) console.log(`  ${rt} failed: ${(out.stderr || out.stdout).trim().split('\n').slice(0, 3).join(' | ')}`);
  return lines;
}

const mib = (kib) => (kib / 1024).toFixed(1).padStart(6);
const runtimes = argv.length > 0 ? argv : ['node26', 'deno', 'bun'];
const env = { BACKEND_SERVERS: 'http://127.0.0.1:9', PORT: '0', HOST: '127.0.0.1' };
if (compare !== undefined) {
  const roots = [ROOT, path.resolve(compare)];
  // A compile cache of this run's own: the first start of each checkout finds it empty, the later ones filled.
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-rss-cache-'));
  console.log(`Fairway started, idle 3 s: RSS after a full GC (MiB), JS heap used, and ms from the entry's import to its end`);
  for (const rt of runtimes) {
    const rows = roots.map(() => []);
    for (let i = 0; i < repeat; i++) {
      roots.forEach((root, r) => {
        ROOT = root;
        // NODE_COMPILE_CACHE turns the cache on by itself: given only to a checkout whose loader turns it on anyway.
        const caches = fs.readFileSync(path.join(root, 'scripts/typescript-loader.mjs'), 'utf8').includes('enableCompileCache');
        const lines = run(rt, startedScript(rt), caches ? { ...env, NODE_COMPILE_CACHE: path.join(cacheDir, path.basename(root)) } : env);
        const idle = lines.find((l) => l.label.endsWith('3 s'));
        if (idle) rows[r].push({ rss: idle.rss / 1024, heap: idle.heap / 1048576, ms: lines.find((l) => l.label === 'startMs')?.ms ?? NaN });
      });
    }
    roots.forEach((root, r) => {
      const list = (key, digits) => rows[r].map((x) => x[key].toFixed(digits)).join(' ');
      console.log(`${rt.padEnd(7)} ${path.basename(root).padEnd(12)} rss ${list('rss', 1)} · heap ${list('heap', 1)} · ms ${list('ms', 0)}`);
    });
  }
  fs.rmSync(cacheDir, { recursive: true, force: true });
  process.exit(0);
}
console.log(`checkout ${ROOT}: RSS after a full GC, MiB (Δ: added by this line)`);
for (const rt of runtimes) {
  console.log(`\n${rt}${' '.repeat(38 - rt.length)}   rss     Δ   anon   file  heap    Δ`);
  let prev;
  for (const f of [...run(rt, script(rt), env), ...run(rt, startedScript(rt), env)]) {
    const d = prev && !f.label.startsWith('Fairway') ? mib(f.rss - prev.rss) : '      ';
    const dh = prev && !f.label.startsWith('Fairway') ? mib((f.heap - prev.heap) / 1024) : '';
    if (f.label === 'startMs') continue;
    console.log(`${f.label.padEnd(40)}${mib(f.rss)}${d}${mib(f.anon)}${mib(f.file)}${mib(f.heap / 1024)}${dh}`);
    prev = f;
  }
}
