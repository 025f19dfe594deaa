#!/usr/bin/env node
// `npm run test:faults`: issue 9's fault scenarios (test/faults/) against the real proxy on each runtime
// (FAIRWAY_RUNTIMES, default all four). Kept apart from scripts/test.mjs; .ci/run runs it as its own step before `npm test`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const files = readdirSync(new URL('../test/faults/', import.meta.url))
  .filter((n) => n.endsWith('.test.ts'))
  .sort()
  .map((n) => `test/faults/${n}`);
// Run under the same Node as the e2e suite (npm puts Node 26 first on PATH; either runs tsx).
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { cwd: ROOT, stdio: 'inherit' });
process.exitCode = result.status ?? 1;
