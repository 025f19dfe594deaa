/**
 * Where Fairway's resident memory on Bun comes from before any load: a fresh Bun process per line imports one
 * module (or Fairway's whole start) and reports VmRSS, split into anonymous memory (heap, bytecode, JIT) and
 * file-backed pages (the parts of Bun's own executable the code touches), after a full GC.
 *
 *   node bench/repro/bun-rss.mjs            (Linux: reads /proc; about 10 s)
 *   env: BUN (default node_modules/.bin/bun), and BUN_JSC_* options are passed through.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bun = process.env.BUN ?? path.join(root, 'node_modules', '.bin', 'bun');

const MEASURE = `Bun.gc(true); const s = require('fs').readFileSync('/proc/self/status', 'utf8');
const kib = (k) => Number(s.match(new RegExp(k + ':\\\\s+(\\\\d+)'))[1]);
console.log(JSON.stringify({ rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile'), heap: require('bun:jsc').heapStats().heapSize }));`;

const LINES = [
  ['bun alone', ''],
  ['node:tls', "await import('node:tls');"],
  ['hono', "await import('hono');"],
  ['zod', "await import('zod');"],
  // Every zod entry re-exports all 64 locales (`export * as locales` in classic, mini and core alike): no narrower import.
  ['zod/mini', "await import('zod/mini');"],
  ['zod/v4/core', "await import('zod/v4/core');"],
  ['zod/v4/locales', "await import('zod/v4/locales');"],
  ['valibot', "await import('valibot');"],
  ['@hono/valibot-validator', "await import('@hono/valibot-validator');"],
  ['node:crypto', "await import('node:crypto');"],
  ['@logtape/logtape', "await import('@logtape/logtape');"],
  ['src/core/config/config.ts', "await import('./src/core/config/config.ts');"],
  ['config.ts, environment parsed', "(await import('./src/core/config/config.ts')).parseConfig(process.env);"],
  // Loaded only when a setting needs them: ADMIN_TOKEN, and TLS_CERT_FILE or UPSTREAM_CA_FILE.
  ['src/core/admin/admin-api.ts (valibot)', "await import('./src/core/admin/admin-api.ts');"],
  ['src/runtimes/shared/tls-files.ts', "await import('./src/runtimes/shared/tls-files.ts'); await import('node:tls');"],
  ['src/core/balancer.ts', "await import('./src/core/balancer.ts');"],
  ['src/core/bootstrap.ts', "await import('./src/core/bootstrap.ts');"],
  ['src/runtimes/bun.ts, started (idle)', "await import('./src/runtimes/bun.ts'); await new Promise((r) => setTimeout(r, 1000));"],
];

const mib = (kib) => (kib / 1024).toFixed(1).padStart(5);
console.log(`Bun ${spawnSync(bun, ['--version'], { encoding: 'utf8' }).stdout.trim()}: RSS after a full GC (MiB)`);
console.log('                                        rss   anon   file   JS heap');
for (const [name, code] of LINES) {
  const env = { ...process.env, BACKEND_SERVERS: 'http://127.0.0.1:9', PORT: '0', HEALTH_CHECK_INTERVAL_MS: '600000' };
  const out = spawnSync(bun, ['-e', `${code}\n${MEASURE}\nprocess.exit(0);`], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  const line = out.stdout.trim().split('\n').at(-1) ?? '';
  let figures;
  try {
    figures = JSON.parse(line);
  } catch {
    console.log(`${name.padEnd(38)} failed: ${(out.stderr || line).trim().split('\n')[0]}`);
    continue;
  }
  console.log(`${name.padEnd(38)} ${mib(figures.rss)}  ${mib(figures.anon)}  ${mib(figures.file)}   ${mib(figures.heap / 1024)}`);
}
