/** scripts/fill-compile-cache.mjs (the Dockerfile's build step): a later start with the preload strips nothing, and the cache is read-only. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE26 = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');

/** Imports what a start imports first, and says whether Node loaded its type stripper (amaro) for it. */
const PROBE = `await import('./src/core/bootstrap.ts');
await import('./src/runtimes/node/native-forwarder.ts');
console.log(JSON.stringify({ stripperLoaded: process.moduleLoadList.some((name) => name.includes('amaro')) }));`;

function nodeEnv(cacheDir?: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, NODE_COMPILE_CACHE: cacheDir };
  if (cacheDir === undefined) delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  delete env.NODE_OPTIONS;
  return env;
}

function probe(cacheDir: string): { stripperLoaded: boolean } {
  const args = ['--import', './scripts/typescript-loader.mjs', '--input-type=module', '-e', PROBE];
  return JSON.parse(execFileSync(NODE26, args, { cwd: ROOT, env: nodeEnv(cacheDir), encoding: 'utf8', timeout: 60_000 }));
}

function modes(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (p: string) => {
    const stat = fs.statSync(p);
    found.add(`${stat.isDirectory() ? 'dir' : 'file'} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) { for (const entry of fs.readdirSync(p)) walk(path.join(p, entry)); }
  };
  walk(dir);
  return found;
}

describe('scripts/fill-compile-cache.mjs on Node 26', { skip: fs.existsSync(NODE26) ? false : 'node_modules/node/bin/node is not installed' }, () => {
  test('fills a read-only cache from which a start with the preload loads no type stripper; without it, the stripper loads', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fairway-fill-cache-'));
    const filled = path.join(tmp, 'filled');
    const empty = path.join(tmp, 'empty');
    try {
      // This process's own uid:gid, so the probes below (run as this user) read what was filled.
      const user = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
      const output = execFileSync(NODE26, ['scripts/fill-compile-cache.mjs', filled, user], { cwd: ROOT, env: nodeEnv(), encoding: 'utf8', timeout: 120_000 });
      assert.match(output, /imported \d+ modules and compiled src\/runtimes\/node\.ts/);
      assert.deepEqual(modes(filled), new Set(['dir 555', 'file 444']));
      assert.deepEqual(probe(filled), { stripperLoaded: false });
      fs.mkdirSync(empty);
      assert.deepEqual(probe(empty), { stripperLoaded: true });
    } finally {
      fs.chmodSync(tmp, 0o700);
      for (const dir of [tmp, filled]) if (fs.existsSync(dir)) fs.chmodSync(dir, 0o755);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
