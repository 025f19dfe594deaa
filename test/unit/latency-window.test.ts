/** The ring of recent latency samples behind responseTimeMs in /lb/stats. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyWindow } from '../../src/core/stats/latency-window.ts';

function windowOf(samples: readonly number[], capacity?: number): LatencyWindow {
  const w = new LatencyWindow(capacity);
  for (const s of samples) w.add(s);
  return w;
}

/** 1..n in a scrambled but fixed order, so sorting is exercised. */
function scrambled(n: number): number[] {
  const values = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = values.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

describe('LatencyWindow', () => {
  test('has no summary before the first sample', () => {
    assert.equal(new LatencyWindow().summary(), null);
  });

  test('a single sample is the average and every percentile', () => {
    assert.deepEqual(windowOf([42]).summary(), { avg: 42, p50: 42, p95: 42, p99: 42 });
  });

  test('percentiles are nearest-rank over 1..100', () => {
    assert.deepEqual(windowOf(scrambled(100)).summary(), { avg: 50.5, p50: 50, p95: 95, p99: 99 });
  });

  test('nearest-rank picks an observed sample, never an interpolation (1..20 gives p95 = 19, 1..10 gives p50 = 5)', () => {
    assert.deepEqual(windowOf(scrambled(20)).summary(), { avg: 10.5, p50: 10, p95: 19, p99: 20 });
    assert.deepEqual(windowOf(scrambled(10)).summary(), { avg: 5.5, p50: 5, p95: 10, p99: 10 });
    assert.deepEqual(windowOf([3, 1, 2]).summary(), { avg: 2, p50: 2, p95: 3, p99: 3 });
  });

  test('sorts numerically, not as strings', () => {
    // As strings the order would be 10, 100, 2, 9 and p50 would be 100.
    assert.deepEqual(windowOf([10, 9, 100, 2]).summary(), { avg: 30.25, p50: 9, p95: 100, p99: 100 });
  });

  test('rounds to microseconds (three decimals of a millisecond)', () => {
    assert.deepEqual(windowOf([1.23456]).summary(), { avg: 1.235, p50: 1.235, p95: 1.235, p99: 1.235 });
  });

  test('wraps at capacity: the oldest samples are replaced, the count never exceeds capacity', () => {
    const w = windowOf([1, 2, 3, 100, 200], 3);
    // Window now holds 3, 100, 200.
    assert.deepEqual(w.summary(), { avg: 101, p50: 100, p95: 200, p99: 200 });
    w.add(300);
    // Window now holds 100, 200, 300.
    assert.deepEqual(w.summary(), { avg: 200, p50: 200, p95: 300, p99: 300 });
  });

  test('the default window holds the most recent 1024 samples', () => {
    const w = windowOf([1_000_000, ...Array.from({ length: 1024 }, () => 1)]);
    assert.deepEqual(w.summary(), { avg: 1, p50: 1, p95: 1, p99: 1 });
    const notYetFull = windowOf([1_000_000, ...Array.from({ length: 1023 }, () => 1)]);
    assert.equal(notYetFull.summary()!.p99, 1);
    assert.ok(notYetFull.summary()!.avg > 1, 'with 1024 samples the first is still in the window');
  });
});
