/**
 * What each library of the steps ladder's `libs` rung (proxy-steps-common.mjs) keeps resident at idle, loaded one on top of
 * the other in a fresh process per rung: VmRSS 1 s after the last import, median of a few processes. The first rung is
 * what the ceiling itself loads (node:http and undici on Node; nothing on Deno and Bun).
 *
 *   node bench/repro/libs-rss.mjs [--runs 3] [node26|deno|bun ...]       (no load: needs no bench lock)
 *   node_modules/node/bin/node bench/repro/libs-rss.mjs --strip             Node's type stripper alone: RSS after stripping one
 *                                                                          small module, config.ts's modules, then all of src/
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const src = (file) => new URL(`../../src/${file}`, import.meta.url).href;
const RUNTIMES = {
  node26: [path.join(ROOT, 'node_modules/node/bin/node')],
  deno: [path.join(ROOT, 'node_modules/.bin/deno'), 'run', '-A'],
  bun: [path.join(ROOT, 'node_modules/.bin/bun'), 'run'],
};
const ENV = { BACKEND_SERVERS: 'http://127.0.0.1:1', HOST: '127.0.0.1', PORT: '0' };

/** Each rung: a name and what it loads (and uses, as loadFairwayLibs does), on top of the rungs before it. */
const RUNGS = [
  ['ceiling', async (rt) => rt === 'node26' && (await import('node:http'), new (await import('undici')).Agent())],
  ['+ one TypeScript module (Node: type stripping)', async () => await import(src('core/plural.ts'))],
  ['+ zod (Bun: English-only locales first)', async (rt) => {
    if (rt === 'bun') (await import(src('runtimes/bun/zod-locales.ts'))).loadZodEnglishOnly();
    await import('zod');
  }],
  ['+ Fairway config schema, parsed', async () => {
    const { parseConfig } = await import(src('core/config/config.ts'));
    if (!parseConfig(ENV).ok) throw new Error('config');
  }],
  ['+ LogTape, configured with the access log sink', async () => {
    (await import(src('core/logging.ts'))).configureLogging('info', 'json', 'json');
    (await import(src('core/stats/access-log.ts'))).accessLogSink('json');
  }],
  ['+ Hono with the /lb/* routes', async () => {
    (await import(src('core/admin/admin-routes.ts'))).createAdminRoutes({ stats: () => ({}), healthyServers: () => 2 });
  }],
  ['+ @hono/node-server (Node)', async (rt) => rt === 'node26' && (await import('@hono/node-server')).getRequestListener(() => new Response())],
];

if (process.argv[2] === '--strip') {
  // What Node's type stripper (amaro: swc compiled to WebAssembly) keeps resident: its instance, and memory that grows with the
  // source it strips and is never given back.
  const { stripTypeScriptTypes } = await import('node:module');
  const rss = () => (Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024).toFixed(1);
  const read = (file) => fs.readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8');
  const all = fs.readdirSync(new URL('../../src/', import.meta.url), { recursive: true }).filter((f) => f.endsWith('.ts'));
  console.log(`start ${rss()} MiB`);
  stripTypeScriptTypes(read('core/plural.ts'));
  console.log(`one small module stripped ${rss()} MiB`);
  const config = ['config.ts', 'config-types.ts', 'resilience-types.ts', 'status-list.ts'].map((f) => `core/config/${f}`);
  for (const f of [...config, 'core/selection/algorithm.ts', 'core/selection/hash-key.ts', 'core/stats/access-log.ts', 'core/proxy/response-buffering.ts']) {
    stripTypeScriptTypes(read(f));
  }
  console.log(`+ config.ts and its imports ${rss()} MiB`);
  let bytes = 0;
  for (const f of all) bytes += stripTypeScriptTypes(read(f)).length;
  await new Promise((r) => setTimeout(r, 500));
  console.log(`+ all ${all.length} files of src/ (${bytes} bytes) ${rss()} MiB`);
} else if (process.env.LIBS_RSS_RUNGS) {
  // Child: load the first N rungs, then idle until killed.
  const rt = process.env.LIBS_RSS_RUNTIME;
  for (const [, load] of RUNGS.slice(0, Number(process.env.LIBS_RSS_RUNGS))) await load(rt);
  console.log('loaded');
  setInterval(() => {}, 60_000);
} else {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 3;
  const runtimes = args.length ? args : Object.keys(RUNTIMES);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  const idleRss = async (rt, rungs) => {
    const [cmd, ...pre] = RUNTIMES[rt];
    const child = spawn(cmd, [...pre, import.meta.filename], {
      cwd: ROOT,
      env: { ...process.env, ...ENV, LIBS_RSS_RUNTIME: rt, LIBS_RSS_RUNGS: String(rungs) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('loaded') && resolve());
      child.once('exit', (code) => reject(new Error(`${rt} rung ${rungs} exited ${code}`)));
    });
    await sleep(1000);
    const mib = rss(child.pid);
    child.kill('SIGKILL');
    return mib;
  };
  for (const rt of runtimes) {
    console.log(`\n${rt}: idle RSS MiB, median of ${runs} (added by the rung)`);
    let previous;
    for (let n = 1; n <= RUNGS.length; n++) {
      if (rt !== 'node26' && RUNGS[n - 1][0].endsWith('(Node)')) continue;
      const values = [];
      for (let i = 0; i < runs; i++) values.push(await idleRss(rt, n));
      const median = values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
      const added = previous === undefined ? '' : `  (${median - previous >= 0 ? '+' : ''}${(median - previous).toFixed(1)})`;
      console.log(`  ${RUNGS[n - 1][0].padEnd(48)} ${median.toFixed(1).padStart(6)}${added}`);
      previous = median;
    }
  }
}
