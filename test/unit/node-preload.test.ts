/** scripts/typescript-loader.mjs on Node 26: the compile cache on, zod's locales narrowed to English, zod's and the config's messages unchanged. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE26 = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');

const PROBE = `import module from 'node:module';
import { z } from 'zod';
const { parseConfig } = await import('./src/core/config/config.ts');
console.log(JSON.stringify({
  cacheDir: module.getCompileCacheDir?.() ?? null,
  locales: Object.keys(z.locales),
  zodMessage: z.string().safeParse(1).error.issues[0].message,
  configErrors: parseConfig({ PORT: 'x', WORKERS: 'many' }).errors,
}));`;

/** The probe's findings in a fresh Node 26, with or without the preload, `tmp` as its temporary directory. */
function probe(preload: boolean, tmp: string) {
  const args = [...(preload ? ['--import', './scripts/typescript-loader.mjs'] : []), '--input-type=module', '-e', PROBE];
  const env: Record<string, string | undefined> = { ...process.env, TMPDIR: tmp };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  return JSON.parse(execFileSync(NODE26, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 }));
}

describe('scripts/typescript-loader.mjs on Node 26', { skip: fs.existsSync(NODE26) ? false : 'node_modules/node/bin/node is not installed' }, () => {
  test("turns the compile cache on in the temporary directory and has zod's locale index export English alone, with the same messages", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fairway-preload-'));
    try {
      const plain = probe(false, tmp);
      const preloaded = probe(true, tmp);
      assert.equal(plain.cacheDir, null);
      assert.ok(plain.locales.length > 1);
      assert.deepEqual(preloaded.locales, ['en']);
      assert.equal(preloaded.zodMessage, plain.zodMessage);
      assert.deepEqual(preloaded.configErrors, plain.configErrors);
      assert.equal(preloaded.zodMessage, 'Invalid input: expected string, received number');
      assert.ok(preloaded.cacheDir?.startsWith(path.join(tmp, 'node-compile-cache')), `compile cache in ${preloaded.cacheDir}`);
      assert.ok(fs.readdirSync(path.join(tmp, 'node-compile-cache')).length > 0, 'the compile cache was written');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
