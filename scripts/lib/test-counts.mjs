/**
 * Reads the pass, fail and skip counts from the closing summary of each test runner (node:test, deno test,
 * bun test), for scripts/test.mjs. Plain JavaScript so the runner runs on any Node without a loader.
 */

function lastMatch(text, re) {
  let m;
  let last;
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  while ((m = g.exec(text)) !== null) last = m;
  return last;
}

/** node:test, TAP (`# pass N`) or spec (`ℹ pass N`) reporter. */
export function parseNode(text) {
  const pass = lastMatch(text, /^(?:#|ℹ) pass (\d+)\s*$/m);
  const fail = lastMatch(text, /^(?:#|ℹ) fail (\d+)\s*$/m);
  const cancelled = lastMatch(text, /^(?:#|ℹ) cancelled (\d+)\s*$/m);
  const skipped = lastMatch(text, /^(?:#|ℹ) skipped (\d+)\s*$/m);
  if (!pass || !fail) return undefined;
  return {
    passed: Number(pass[1]),
    failed: Number(fail[1]) + (cancelled ? Number(cancelled[1]) : 0),
    skipped: skipped ? Number(skipped[1]) : 0,
  };
}

/**
 * deno test: `ok | 12 passed (30 steps) | 0 failed (…)` or
 * `FAILED | 0 passed (1 step) | 3 failed (1 step) | 1 ignored (2 steps) (…)`.
 * Deno counts each top-level node:test `describe` as one test and what runs inside it as steps, so the
 * step counts (when shown) are the ones comparable with Node's and Bun's per-test counts. Failures take the
 * larger of the two: a file that fails to load is a top-level failure with no step, and must not hide behind
 * a failed step elsewhere. Ignored tests and ignored steps are disjoint (an ignored describe runs no steps), so they add.
 */
export function parseDeno(text) {
  const m = lastMatch(
    text,
    /^(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored(?: \((\d+) steps?\))?)?/m,
  );
  if (!m) return undefined;
  return {
    passed: Number(m[2] ?? m[1]),
    failed: Math.max(Number(m[3]), Number(m[4] ?? 0)),
    skipped: Number(m[5] ?? 0) + Number(m[6] ?? 0),
  };
}

/** bun test: ` 12 pass` / ` 3 skip` / ` 0 fail` lines. */
export function parseBun(text) {
  const pass = lastMatch(text, /^\s*(\d+) pass\s*$/m);
  const fail = lastMatch(text, /^\s*(\d+) fail\s*$/m);
  const skip = lastMatch(text, /^\s*(\d+) skip\s*$/m);
  if (!pass && !fail) return undefined;
  return { passed: pass ? Number(pass[1]) : 0, failed: fail ? Number(fail[1]) : 0, skipped: skip ? Number(skip[1]) : 0 };
}
