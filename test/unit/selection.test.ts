/** Pins down the exact picking behaviour of the four load-balancing algorithms. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALGORITHM_NAMES } from '../../src/core/selection/algorithm.ts';
import type { Candidate, SelectionAlgorithm } from '../../src/core/selection/algorithm.ts';
import { createAlgorithm } from '../../src/core/selection/create-algorithm.ts';
import { createLeastConnections } from '../../src/core/selection/least-connections.ts';
import { createLeastResponseTime } from '../../src/core/selection/least-response-time.ts';
import { createRoundRobin } from '../../src/core/selection/round-robin.ts';
import { createWeightedRoundRobin } from '../../src/core/selection/weighted-round-robin.ts';

/** Candidates with the given ids, weight 1, idle, unsampled. */
function idle(...ids: number[]): Candidate[] {
  return ids.map((id) => ({ id, weight: 1, inFlight: 0, latencyEwmaMs: undefined }));
}

/** Candidates with ids 0..n-1 and the given weights. */
function weighted(...weights: number[]): Candidate[] {
  return weights.map((weight, id) => ({ id, weight, inFlight: 0, latencyEwmaMs: undefined }));
}

/** Ids of `count` successive picks from the same list. */
function pickIds(algorithm: SelectionAlgorithm, candidates: readonly Candidate[], count: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(algorithm.pick(candidates)!.id);
  return ids;
}

describe('round_robin', () => {
  test('rotates strictly in id order, starting at the lowest id and wrapping', () => {
    assert.deepEqual(pickIds(createRoundRobin(), idle(0, 1, 2), 7), [0, 1, 2, 0, 1, 2, 0]);
  });

  test('ignores weight and load', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 5, inFlight: 9, latencyEwmaMs: 100 },
      { id: 1, weight: 1, inFlight: 0, latencyEwmaMs: 1 },
    ];
    assert.deepEqual(pickIds(createRoundRobin(), candidates, 4), [0, 1, 0, 1]);
  });

  test('a server leaving and returning mid-rotation does not disturb configured order', () => {
    const rr = createRoundRobin();
    assert.deepEqual(pickIds(rr, idle(0, 1, 2, 3), 2), [0, 1]);
    // Server 2 leaves: rotation goes on to 3, then wraps.
    assert.deepEqual(pickIds(rr, idle(0, 1, 3), 2), [3, 0]);
    // Server 2 returns: it is picked in its configured turn, after 1.
    assert.deepEqual(pickIds(rr, idle(0, 1, 2, 3), 4), [1, 2, 3, 0]);
  });

  test('when the last-picked server leaves, rotation continues with the next id instead of jumping', () => {
    const rr = createRoundRobin();
    assert.deepEqual(pickIds(rr, idle(0, 1, 2, 3), 2), [0, 1]);
    assert.deepEqual(pickIds(rr, idle(0, 2, 3), 3), [2, 3, 0]);
  });

  test('with a single server, always picks it', () => {
    assert.deepEqual(pickIds(createRoundRobin(), idle(4), 3), [4, 4, 4]);
  });

  test('empty list gives undefined', () => {
    assert.equal(createRoundRobin().pick([]), undefined);
  });
});

describe('weighted_round_robin', () => {
  test('weights 5,1,1 give exactly a a b a c a a in every cycle of 7', () => {
    const [a, b, c] = [0, 1, 2];
    const cycle = [a, a, b, a, c, a, a];
    assert.deepEqual(pickIds(createWeightedRoundRobin(), weighted(5, 1, 1), 21), [...cycle, ...cycle, ...cycle]);
  });

  for (const weights of [[3, 2, 1], [1, 1], [5, 1, 1], [2, 7, 4], [1]]) {
    test(`weights ${weights.join(',')} give the exact ratio in every full cycle`, () => {
      const total = weights.reduce((sum, w) => sum + w, 0);
      const swrr = createWeightedRoundRobin();
      const candidates = weighted(...weights);
      for (let cycle = 0; cycle < 5; cycle++) {
        const counts = weights.map(() => 0);
        for (const id of pickIds(swrr, candidates, total)) counts[id]!++;
        assert.deepEqual(counts, weights, `cycle ${cycle}`);
      }
    });
  }

  test('weights 1,1 alternate', () => {
    assert.deepEqual(pickIds(createWeightedRoundRobin(), weighted(1, 1), 4), [0, 1, 0, 1]);
  });

  test('interleaves rather than sending bursts: 3,2,1 gives a b a c b a', () => {
    assert.deepEqual(pickIds(createWeightedRoundRobin(), weighted(3, 2, 1), 6), [0, 1, 0, 2, 1, 0]);
  });

  test('a server absent from the list does not accumulate weight and does not flood on return', () => {
    const swrr = createWeightedRoundRobin();
    const both = weighted(1, 1);
    assert.deepEqual(pickIds(swrr, both, 1), [0]);
    // Server 1 is absent for many picks: only server 0 is chosen.
    assert.deepEqual(pickIds(swrr, [both[0]!], 10), Array(10).fill(0));
    // On return the two simply alternate again.
    assert.deepEqual(pickIds(swrr, both, 6), [1, 0, 1, 0, 1, 0]);
  });

  test('empty list gives undefined', () => {
    assert.equal(createWeightedRoundRobin().pick([]), undefined);
  });
});

describe('least_connections', () => {
  test('picks the server with the fewest active connections', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 1, inFlight: 3, latencyEwmaMs: undefined },
      { id: 1, weight: 1, inFlight: 1, latencyEwmaMs: undefined },
      { id: 2, weight: 1, inFlight: 2, latencyEwmaMs: undefined },
    ];
    assert.deepEqual(pickIds(createLeastConnections(), candidates, 3), [1, 1, 1]);
  });

  test('ties are rotated in id order so equal load cycles through all tied servers', () => {
    assert.deepEqual(pickIds(createLeastConnections(), idle(0, 1, 2), 7), [0, 1, 2, 0, 1, 2, 0]);
  });

  test('rotation covers only the tied servers, skipping busier ones', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 1, inFlight: 0, latencyEwmaMs: undefined },
      { id: 1, weight: 1, inFlight: 5, latencyEwmaMs: undefined },
      { id: 2, weight: 1, inFlight: 0, latencyEwmaMs: undefined },
    ];
    assert.deepEqual(pickIds(createLeastConnections(), candidates, 4), [0, 2, 0, 2]);
  });

  test('divides by weight: weight 2 with 2 active ties with weight 1 with 1 active', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 2, inFlight: 2, latencyEwmaMs: undefined },
      { id: 1, weight: 1, inFlight: 1, latencyEwmaMs: undefined },
    ];
    assert.deepEqual(pickIds(createLeastConnections(), candidates, 4), [0, 1, 0, 1]);
  });

  test('a heavier server with more connections wins when its per-weight load is lower', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 1, inFlight: 2, latencyEwmaMs: undefined },
      { id: 1, weight: 2, inFlight: 3, latencyEwmaMs: undefined },
    ];
    assert.deepEqual(pickIds(createLeastConnections(), candidates, 2), [1, 1]);
  });

  test('ignores latency', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 1, inFlight: 0, latencyEwmaMs: 500 },
      { id: 1, weight: 1, inFlight: 1, latencyEwmaMs: 1 },
    ];
    assert.equal(createLeastConnections().pick(candidates)?.id, 0);
  });

  test('empty list gives undefined', () => {
    assert.equal(createLeastConnections().pick([]), undefined);
  });
});

describe('least_response_time', () => {
  test('picks an unsampled server before any sampled one, even a fast idle one', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 1, inFlight: 0, latencyEwmaMs: 1 },
      { id: 1, weight: 1, inFlight: 10, latencyEwmaMs: undefined },
      { id: 2, weight: 5, inFlight: 0, latencyEwmaMs: 0.5 },
    ];
    assert.deepEqual(pickIds(createLeastResponseTime(), candidates, 3), [1, 1, 1]);
  });

  test('rotates among unsampled servers', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 1, inFlight: 0, latencyEwmaMs: undefined },
      { id: 1, weight: 1, inFlight: 0, latencyEwmaMs: 10 },
      { id: 2, weight: 1, inFlight: 3, latencyEwmaMs: undefined },
    ];
    assert.deepEqual(pickIds(createLeastResponseTime(), candidates, 4), [0, 2, 0, 2]);
  });

  test('prefers the lower latency EWMA', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 1, inFlight: 0, latencyEwmaMs: 50 },
      { id: 1, weight: 1, inFlight: 0, latencyEwmaMs: 10 },
      { id: 2, weight: 1, inFlight: 0, latencyEwmaMs: 30 },
    ];
    assert.deepEqual(pickIds(createLeastResponseTime(), candidates, 3), [1, 1, 1]);
  });

  test('accounts for in-flight requests: a fast but busy server loses to a slower idle one', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 1, inFlight: 3, latencyEwmaMs: 10 }, // 10 * 4 = 40
      { id: 1, weight: 1, inFlight: 0, latencyEwmaMs: 25 }, // 25 * 1 = 25
    ];
    assert.equal(createLeastResponseTime().pick(candidates)?.id, 1);
  });

  test('divides by weight', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 1, inFlight: 0, latencyEwmaMs: 15 }, // 15
      { id: 1, weight: 2, inFlight: 0, latencyEwmaMs: 20 }, // 10
    ];
    assert.equal(createLeastResponseTime().pick(candidates)?.id, 1);
  });

  test('equal scores are rotated in id order', () => {
    const candidates: Candidate[] = [
      { id: 0, weight: 1, inFlight: 1, latencyEwmaMs: 10 }, // 20
      { id: 1, weight: 1, inFlight: 0, latencyEwmaMs: 20 }, // 20
      { id: 2, weight: 1, inFlight: 0, latencyEwmaMs: 99 },
      { id: 3, weight: 2, inFlight: 1, latencyEwmaMs: 20 }, // 20
    ];
    assert.deepEqual(pickIds(createLeastResponseTime(), candidates, 5), [0, 1, 3, 0, 1]);
  });

  test('empty list gives undefined', () => {
    assert.equal(createLeastResponseTime().pick([]), undefined);
  });
});

describe('createAlgorithm', () => {
  for (const name of ALGORITHM_NAMES) {
    test(`${name} gives an algorithm named ${name}`, () => {
      assert.equal(createAlgorithm(name).name, name);
    });
  }

  test('each call returns a fresh instance with its own rotation state', () => {
    const first = createAlgorithm('round_robin');
    const second = createAlgorithm('round_robin');
    const candidates = idle(0, 1, 2);
    assert.deepEqual(pickIds(first, candidates, 2), [0, 1]);
    assert.deepEqual(pickIds(second, candidates, 2), [0, 1]);
  });

  test('every factory reports the name createAlgorithm maps it from', () => {
    assert.equal(createRoundRobin().name, 'round_robin');
    assert.equal(createWeightedRoundRobin().name, 'weighted_round_robin');
    assert.equal(createLeastConnections().name, 'least_connections');
    assert.equal(createLeastResponseTime().name, 'least_response_time');
  });
});
