#!/usr/bin/env node
// The `npm test` runner. Plain JavaScript so it runs on any Node.
//
//   node scripts/test.mjs              unit tests on Node 20, Node 26, Deno and Bun, then the e2e and conformance suites
//   node scripts/test.mjs unit         unit tests only
//   node scripts/test.mjs e2e          e2e suite only (FAIRWAY_RUNTIMES selects runtimes; default all four)
//   node scripts/test.mjs conformance  conformance suite only (FAIRWAY_RUNTIMES as for e2e; includes 1 GiB each way per runtime)
//   node scripts/test.mjs browser      the dashboard in Debian's Chromium (installs it with apt-get when missing, as root or in CI); not part of `all`
//
// Each step's output is streamed as it runs; its pass/fail counts are read from the runner's own
// summary. The last line printed is `N passed, M failed, K skipped` (totals). Exit 1 if any step failed,
// exited non-zero, or printed no counts.
//
// Environment: FAIRWAY_RUNTIMES (e2e and conformance runtimes), FAIRWAY_STEP_TIMEOUT_MS (per step, default 20 min).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findSystemNode, killGroup } from './lib/processes.mjs';
import { parseBun, parseDeno, parseNode } from './lib/test-counts.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STEP_TIMEOUT_MS = Number(process.env.FAIRWAY_STEP_TIMEOUT_MS ?? 20 * 60_000);

/** test/<dir>/*.test.ts, sorted, relative to the repo root (expanded here: Node 20's --test takes no globs). */
function testFiles(dir) {
  let names = [];
  try {
    names = readdirSync(path.join(ROOT, 'test', dir));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.test.ts'))
    .sort()
    .map((n) => `test/${dir}/${n}`);
}

const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, 'g');
const stripAnsi = (s) => s.replace(ANSI, '');

let current; // the running step's child, for signal forwarding

/** Ends a step's process group (it and the test processes it started, nothing else) while the step runs. */
function stopStep(child, signal) {
  if (child && child.exitCode === null && child.signalCode === null) killGroup(child, signal);
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopStep(current, 'SIGTERM');
    process.exit(130);
  });
}

function withoutForceColor(env) {
  delete env.FORCE_COLOR; // any value, even 0, forces colour in some runtimes
  return env;
}

/** Runs one step, streaming its output, and resolves with its exit status and captured text. */
function run(step) {
  return new Promise((resolve) => {
    const started = Date.now();
    console.log(`\n=== ${step.name}: ${[step.command, ...step.args].join(' ')}`);
    const child = spawn(step.command, step.args, {
      cwd: ROOT,
      env: withoutForceColor({ ...process.env, NO_COLOR: '1', ...step.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    });
    current = child;
    let text = '';
    const capture = (chunk, out) => {
      out.write(chunk);
      if (text.length < 16 * 1024 * 1024) text += chunk.toString('utf8');
    };
    child.stdout.on('data', (c) => capture(c, process.stdout));
    child.stderr.on('data', (c) => capture(c, process.stderr));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`\n!!! ${step.name}: still running after ${STEP_TIMEOUT_MS} ms, stopping it`);
      stopStep(child, 'SIGTERM');
      setTimeout(() => stopStep(child, 'SIGKILL'), 5000).unref();
    }, STEP_TIMEOUT_MS);
    let spawnError;
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      if (spawnError) text += `\n[spawn error] ${spawnError.message}`;
      resolve({ code: spawnError ? -1 : code, signal, text: stripAnsi(text), timedOut, ms: Date.now() - started });
    });
  });
}

function steps(part) {
  const out = [];
  const node20 = findSystemNode();
  const node26 = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');
  const deno = path.join(ROOT, 'node_modules', '.bin', 'deno');
  const bun = path.join(ROOT, 'node_modules', '.bin', 'bun');
  const missing = (name, why) => ({ name, missing: why });

  if (part === 'all' || part === 'unit') {
    const unit = testFiles('unit');
    if (unit.length === 0) {
      out.push(missing('unit', 'no test/unit/*.test.ts files'));
    } else {
      out.push(
        node20
          ? { name: 'unit node20', command: node20, args: ['--import', 'tsx', '--test', ...unit], parse: parseNode }
          : missing('unit node20', 'no system node on PATH outside node_modules'),
      );
      out.push({ name: 'unit node26', command: node26, args: ['--import', 'tsx', '--test', ...unit], parse: parseNode });
      out.push({ name: 'unit deno', command: deno, args: ['test', '-A', 'test/unit/'], parse: parseDeno });
      out.push({ name: 'unit bun', command: bun, args: ['test', './test/unit/'], parse: parseBun });
    }
  }
  if (part === 'all' || part === 'e2e') {
    const e2e = testFiles('e2e');
    if (e2e.length === 0) out.push(missing('e2e', 'no test/e2e/*.test.ts files'));
    else if (!node20) out.push(missing('e2e', 'no system node on PATH outside node_modules'));
    else {
      out.push({
        name: `e2e (${process.env.FAIRWAY_RUNTIMES || 'node20,node26,deno,bun'})`,
        command: node20,
        args: ['--import', 'tsx', '--test', ...e2e],
        parse: parseNode,
      });
    }
  }
  if (part === 'all' || part === 'conformance') {
    // Same harness as e2e: the system Node runs node:test, each test file starts the proxy on every selected runtime.
    const conformance = testFiles('conformance');
    if (conformance.length === 0) out.push(missing('conformance', 'no test/conformance/*.test.ts files'));
    else if (!node20) out.push(missing('conformance', 'no system node on PATH outside node_modules'));
    else {
      out.push({
        name: `conformance (${process.env.FAIRWAY_RUNTIMES || 'node20,node26,deno,bun'})`,
        command: node20,
        args: ['--import', 'tsx', '--test', ...conformance],
        parse: parseNode,
      });
    }
  }
  if (part === 'browser') {
    const browser = testFiles('browser');
    if (browser.length === 0) out.push(missing('browser', 'no test/browser/*.test.ts files'));
    else if (!node20) out.push(missing('browser', 'no system node on PATH outside node_modules'));
    else out.push({ name: 'browser (chromium)', command: node20, args: ['--import', 'tsx', '--test', ...browser], parse: parseNode });
  }
  return out;
}

async function main() {
  const part = process.argv[2] ?? 'all';
  if (!['all', 'unit', 'e2e', 'conformance', 'browser'].includes(part)) {
    console.error(`usage: node scripts/test.mjs [unit|e2e|conformance|browser]  (got "${part}")`);
    process.exit(2);
  }
  const results = [];
  for (const step of steps(part)) {
    if (step.missing) {
      results.push({ name: step.name, passed: 0, failed: 0, ok: false, note: step.missing });
      console.log(`\n=== ${step.name}: cannot run: ${step.missing}`);
      continue;
    }
    const r = await run(step);
    const counts = step.parse(r.text);
    const notes = [];
    if (r.timedOut) notes.push(`timed out after ${STEP_TIMEOUT_MS} ms`);
    if (r.code !== 0) notes.push(r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`);
    if (!counts) notes.push('no pass/fail counts found in its output');
    const passed = counts?.passed ?? 0;
    const failed = counts?.failed ?? 0;
    const ok = !r.timedOut && r.code === 0 && counts !== undefined && failed === 0;
    results.push({ name: step.name, passed, failed, skipped: counts?.skipped ?? 0, ok, note: notes.join('; '), ms: r.ms });
  }

  console.log('\n=== summary');
  const width = Math.max(...results.map((r) => r.name.length), 4);
  for (const r of results) {
    const time = r.ms !== undefined ? ` (${(r.ms / 1000).toFixed(1)} s)` : '';
    console.log(
      `${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(width)}  ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}${time}${
        r.note ? `  [${r.note}]` : ''
      }`,
    );
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  // A step that failed without counting a failed test (crash, timeout, no counts) still counts as one failure.
  const failed = results.reduce((n, r) => n + (r.ok ? r.failed : Math.max(r.failed, 1)), 0);
  const skipped = results.reduce((n, r) => n + (r.skipped ?? 0), 0);
  const allOk = results.length > 0 && results.every((r) => r.ok);
  // CI reads the leading `N passed, M failed`: keep it first.
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = allOk ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  console.log('0 passed, 1 failed, 0 skipped');
  process.exitCode = 1;
});
