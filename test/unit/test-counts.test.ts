/** The counts scripts/test.mjs reads from each runner's closing summary: a load failure or a skip must not vanish. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBun, parseDeno, parseNode } from '../../scripts/lib/test-counts.mjs';

describe('test runner counts', () => {
  it('node:test: passed, failed plus cancelled, skipped', () => {
    assert.deepEqual(parseNode('ℹ tests 9\nℹ pass 5\nℹ fail 1\nℹ cancelled 2\nℹ skipped 1\n'), { passed: 5, failed: 3, skipped: 1 });
  });

  it('deno: a file that fails to load counts even when a step also failed (the larger failure count wins)', () => {
    const text = 'FAILED | 0 passed (1 step) | 3 failed (1 step) | 1 ignored (2 steps) (722ms)\n';
    assert.deepEqual(parseDeno(text), { passed: 1, failed: 3, skipped: 3 });
  });

  it('deno: failed steps count when they outnumber the failed top-level tests', () => {
    assert.deepEqual(parseDeno('FAILED | 11 passed (28 steps) | 1 failed (4 steps) (1s)\n'), { passed: 28, failed: 4, skipped: 0 });
  });

  it('deno: ignored tests without steps', () => {
    assert.deepEqual(parseDeno('ok | 1 passed | 0 failed | 1 ignored (10ms)\n'), { passed: 1, failed: 0, skipped: 1 });
  });

  it('bun: pass, fail and skip lines', () => {
    assert.deepEqual(parseBun(' 1 pass\n 3 skip\n 1 fail\nRan 5 tests across 1 file.\n'), { passed: 1, failed: 1, skipped: 3 });
  });

  it('no summary is no counts', () => {
    assert.equal(parseNode('crashed'), undefined);
    assert.equal(parseDeno('crashed'), undefined);
    assert.equal(parseBun('crashed'), undefined);
  });
});
