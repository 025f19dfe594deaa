/** Pins down the picking behaviour of every load-balancing algorithm: exact where deterministic, within stated bounds where random. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALGORITHM_NAMES, type AlgorithmName, type AlgorithmOptions, type Candidate, type SelectionAlgorithm } from '../../src/core/selection/algorithm.ts';
import { createAlgorithm } from '../../src/core/selection/create-algorithm.ts';
import { seededRandom } from '../../src/core/selection/seeded-random.ts';

interface TestServer extends Candidate {
  inFlight: number;
  weight: number;
}

interface Harness {
  readonly algorithm: SelectionAlgorithm<TestServer>;
  readonly servers: TestServer[];
  /** Ids of `count` successive picks. */
  picks(count: number, hashKey?: string): number[];
  setLoad(id: number, inFlight: number): void;
  leave(id: number): void;
  join(id: number): void;
}

/** Servers with ids 0..n-1, the given weights and loads, all available. */
function harness(name: AlgorithmName, weights: readonly number[], options: AlgorithmOptions & { inFlight?: readonly number[] } = {}): Harness {
  const servers: TestServer[] = weights.map((weight, id) => ({
    id,
    url: `http://10.0.${id >> 8}.${id & 255}:80`,
    weight,
    inFlight: options.inFlight?.[id] ?? 0,
  }));
  const algorithm = createAlgorithm<TestServer>(name, options);
  algorithm.configured?.(servers);
  for (const server of servers) algorithm.available(server);
  return {
    algorithm,
    servers,
    picks(count, hashKey) {
      const ids: number[] = [];
      for (let i = 0; i < count; i++) ids.push(algorithm.pick({ hashKey })!.id);
      return ids;
    },
    setLoad(id, inFlight) {
      servers[id]!.inFlight = inFlight;
      algorithm.loadChanged?.(servers[id]!);
    },
    leave: (id) => algorithm.unavailable(servers[id]!),
    join: (id) => algorithm.available(servers[id]!),
  };
}

const ones = (n: number): number[] => Array(n).fill(1);
const countIds = (ids: readonly number[], n: number): number[] => {
  const counts = Array(n).fill(0);
  for (const id of ids) counts[id]++;
  return counts;
};

describe('round_robin', () => {
  test('rotates strictly in id order, starting at the lowest id and wrapping', () => {
    assert.deepEqual(harness('round_robin', ones(3)).picks(7), [0, 1, 2, 0, 1, 2, 0]);
  });

  test('ignores weight and load', () => {
    assert.deepEqual(harness('round_robin', [5, 1], { inFlight: [9, 0] }).picks(4), [0, 1, 0, 1]);
  });

  test('a server leaving and returning mid-rotation does not disturb configured order', () => {
    const h = harness('round_robin', ones(4));
    assert.deepEqual(h.picks(2), [0, 1]);
    h.leave(2);
    assert.deepEqual(h.picks(2), [3, 0]);
    h.join(2);
    assert.deepEqual(h.picks(4), [1, 2, 3, 0]);
  });

  test('when the last-picked server leaves, rotation continues with the next id instead of jumping', () => {
    const h = harness('round_robin', ones(4));
    assert.deepEqual(h.picks(2), [0, 1]);
    h.leave(1);
    assert.deepEqual(h.picks(3), [2, 3, 0]);
  });

  test('with a single server, always picks it', () => {
    assert.deepEqual(harness('round_robin', [1]).picks(3), [0, 0, 0]);
  });
});

describe('weighted_round_robin (earliest deadline first)', () => {
  test('weights 5,1,1 give exactly a a a b c a a in every cycle of 7', () => {
    const cycle = [0, 0, 0, 1, 2, 0, 0];
    assert.deepEqual(harness('weighted_round_robin', [5, 1, 1]).picks(21), [...cycle, ...cycle, ...cycle]);
  });

  for (const weights of [[3, 2, 1], [1, 1], [5, 1, 1], [2, 7, 4], [1], [10, 3, 7, 1, 1]]) {
    test(`weights ${weights.join(',')} give the exact ratio in every full cycle`, () => {
      const total = weights.reduce((sum, w) => sum + w, 0);
      const h = harness('weighted_round_robin', weights);
      for (let cycle = 0; cycle < 5; cycle++) assert.deepEqual(countIds(h.picks(total), weights.length), weights, `cycle ${cycle}`);
    });
  }

  test("spreads each server's turns: no server gets more than two in a row, and turns are at most 2·total/weight apart", () => {
    const weights = [4, 2, 1, 1];
    const ids = harness('weighted_round_robin', weights).picks(64);
    for (let i = 2; i < ids.length; i++) assert.ok(!(ids[i] === ids[i - 1] && ids[i] === ids[i - 2]), `three in a row at ${i}: ${ids.join('')}`);
    for (const [id, weight] of weights.entries()) {
      const turns = ids.flatMap((picked, i) => (picked === id ? [i] : []));
      for (let t = 1; t < turns.length; t++) assert.ok(turns[t]! - turns[t - 1]! <= (2 * 8) / weight, `server ${id}: ${ids.join('')}`);
    }
  });

  test('the schedule is unchanged after 2^20 cycles, when deadlines are shifted back to keep their precision', () => {
    const h = harness('weighted_round_robin', [2, 1]);
    const first = h.picks(30);
    for (let i = 0; i < 2 ** 20; i++) h.algorithm.pick({}), h.algorithm.pick({}), h.algorithm.pick({});
    assert.deepEqual(h.picks(30), first);
  });

  test('interleaves 3,2,1 as a b a c b a', () => {
    assert.deepEqual(harness('weighted_round_robin', [3, 2, 1]).picks(6), [0, 1, 0, 2, 1, 0]);
  });

  test('a server that was away does not bank turns and does not flood on return', () => {
    const h = harness('weighted_round_robin', [1, 1]);
    assert.deepEqual(h.picks(1), [0]);
    h.leave(1);
    assert.deepEqual(h.picks(10), Array(10).fill(0));
    h.join(1);
    const after = h.picks(6);
    assert.deepEqual(countIds(after, 2), [3, 3], `got ${after.join(' ')}`);
    for (let i = 1; i < after.length; i++) assert.notEqual(after[i], after[i - 1], `got ${after.join(' ')}`);
  });

  test('a weight change takes effect from the next cycle with exact ratios', () => {
    const h = harness('weighted_round_robin', [1, 1]);
    h.picks(2);
    h.leave(0);
    h.servers[0]!.weight = 3;
    h.join(0);
    h.picks(4); // the rest of the cycle in progress
    for (let cycle = 0; cycle < 3; cycle++) assert.deepEqual(countIds(h.picks(4), 2), [3, 1]);
  });
});

describe('least_connections', () => {
  test('picks the server with the fewest in-flight requests', () => {
    assert.deepEqual(harness('least_connections', ones(3), { inFlight: [3, 1, 2] }).picks(3), [1, 1, 1]);
  });

  test('follows load changes reported after the algorithm was built', () => {
    const h = harness('least_connections', ones(3));
    h.setLoad(0, 4);
    h.setLoad(1, 2);
    h.setLoad(2, 3);
    assert.deepEqual(h.picks(2), [1, 1]);
    h.setLoad(1, 9);
    assert.deepEqual(h.picks(1), [2]);
  });

  test('ties rotate in id order so equal load cycles through all tied servers', () => {
    assert.deepEqual(harness('least_connections', ones(3)).picks(7), [0, 1, 2, 0, 1, 2, 0]);
  });

  test('rotation covers only the tied servers, skipping busier ones', () => {
    assert.deepEqual(harness('least_connections', ones(3), { inFlight: [0, 5, 0] }).picks(4), [0, 2, 0, 2]);
  });

  test('divides by weight: weight 2 with 2 in flight ties with weight 1 with 1', () => {
    assert.deepEqual(harness('least_connections', [2, 1], { inFlight: [2, 1] }).picks(4), [0, 1, 0, 1]);
  });

  test('a heavier server with more connections wins when its per-weight load is lower', () => {
    assert.deepEqual(harness('least_connections', [1, 2], { inFlight: [2, 3] }).picks(2), [1, 1]);
  });

  test('an unavailable server is never picked, however idle', () => {
    const h = harness('least_connections', ones(3), { inFlight: [0, 5, 5] });
    h.leave(0);
    assert.deepEqual(h.picks(2), [1, 2]);
  });
});

describe('least_response_time', () => {
  test('picks an unsampled server before any sampled one, even a fast idle one', () => {
    const h = harness('least_response_time', [1, 1, 5], { inFlight: [0, 10, 0] });
    h.algorithm.responded!(h.servers[0]!, 1);
    h.algorithm.responded!(h.servers[2]!, 0.5);
    assert.deepEqual(h.picks(3), [1, 1, 1]);
  });

  test('prefers the lower latency average, scaled by in-flight + 1 and by weight', () => {
    const h = harness('least_response_time', [1, 1, 2]);
    h.algorithm.responded!(h.servers[0]!, 50);
    h.algorithm.responded!(h.servers[1]!, 10);
    h.algorithm.responded!(h.servers[2]!, 30); // 30 / 2 = 15
    assert.deepEqual(h.picks(2), [1, 1]);
    h.setLoad(1, 1); // 10 * 2 = 20 > 15
    assert.deepEqual(h.picks(1), [2]);
  });

  test('the average moves by α = 0.3 per sample', () => {
    const h = harness('least_response_time', [1, 1]);
    h.algorithm.responded!(h.servers[0]!, 10);
    h.algorithm.responded!(h.servers[1]!, 12);
    h.algorithm.responded!(h.servers[0]!, 20); // 10 + 0.3 * 10 = 13 > 12
    assert.deepEqual(h.picks(1), [1]);
  });

  test('equal scores rotate in id order', () => {
    const h = harness('least_response_time', [1, 1, 1, 2], { inFlight: [1, 0, 0, 1] });
    for (const [id, ms] of [[0, 10], [1, 20], [2, 99], [3, 20]] as const) h.algorithm.responded!(h.servers[id]!, ms);
    assert.deepEqual(h.picks(5), [0, 1, 3, 0, 1]);
  });
});

describe('random (weighted)', () => {
  test('with seed 1, 70,000 picks over weights 5,1,1 give each server its share within 2%', () => {
    const counts = countIds(harness('random', [5, 1, 1], { random: seededRandom(1) }).picks(70_000), 3);
    for (const [id, share] of [5 / 7, 1 / 7, 1 / 7].entries()) {
      assert.ok(Math.abs(counts[id]! / 70_000 - share) < 0.02 * share, `server ${id}: ${counts[id]} picks`);
    }
  });

  test('never picks an unavailable server, and picks it again once back', () => {
    const h = harness('random', ones(4), { random: seededRandom(2) });
    h.leave(2);
    assert.equal(h.picks(2000).includes(2), false);
    h.join(2);
    assert.ok(h.picks(2000).includes(2));
  });

  test('the same seed gives the same sequence', () => {
    const a = harness('random', [3, 2, 1], { random: seededRandom(7) }).picks(50);
    const b = harness('random', [3, 2, 1], { random: seededRandom(7) }).picks(50);
    assert.deepEqual(a, b);
  });
});

describe('power_of_two', () => {
  test('of the two servers drawn, takes the one with fewer in-flight per weight: the busiest server is never picked', () => {
    const h = harness('power_of_two', ones(3), { random: seededRandom(3), inFlight: [5, 1, 3] });
    const counts = countIds(h.picks(3000), 3);
    assert.equal(counts[0], 0);
    // Server 1 wins every pair it is drawn in: 2 of the 3 pairs, so about 2/3 of picks.
    assert.ok(Math.abs(counts[1]! / 3000 - 2 / 3) < 0.03, `counts ${counts}`);
  });

  test('with equal load, picks spread by weight within 3% (seed 4, 60,000 picks, weights 3,2,1)', () => {
    const counts = countIds(harness('power_of_two', [3, 2, 1], { random: seededRandom(4) }).picks(60_000), 3);
    // Equal load ties go to the first draw, which is weighted, so the shares follow the weights.
    for (const [id, share] of [3 / 6, 2 / 6, 1 / 6].entries()) assert.ok(Math.abs(counts[id]! / 60_000 - share) < 0.03 * share + 0.01, `counts ${counts}`);
  });

  test('the two draws are distinct: with two servers, the idle one always wins', () => {
    const h = harness('power_of_two', [1, 1], { random: seededRandom(5), inFlight: [0, 1] });
    assert.deepEqual(countIds(h.picks(500), 2), [500, 0]);
  });

  test('with one server left, picks it', () => {
    const h = harness('power_of_two', ones(2), { random: seededRandom(6) });
    h.leave(0);
    assert.deepEqual(h.picks(3), [1, 1, 1]);
  });
});

describe('peak_ewma', () => {
  function clocked(weights: number[], inFlight?: number[]) {
    let now = 0;
    const h = harness('peak_ewma', weights, { random: seededRandom(8), now: () => now, inFlight });
    return { h, advance: (ms: number) => (now += ms), sample: (id: number, ms: number) => h.algorithm.responded!(h.servers[id]!, ms) };
  }

  test('an unsampled server is tried while idle, but not flooded while its first request is in flight', () => {
    const { h, sample } = clocked([1, 1]);
    sample(0, 1);
    // Server 1 has no sample and nothing in flight: cost 0, it wins every draw against a 1 ms server.
    assert.deepEqual(countIds(h.picks(20), 2), [0, 20]);
    h.setLoad(1, 1);
    // Its first request is in flight and unanswered: now the sampled server wins.
    assert.deepEqual(countIds(h.picks(20), 2), [20, 0]);
    sample(1, 2);
    h.setLoad(1, 0);
    assert.deepEqual(countIds(h.picks(20), 2), [20, 0]);
  });

  test('a latency peak counts at once; lower samples pull it down only as time passes (τ = 10 s)', () => {
    const { h, advance, sample } = clocked([1, 1]);
    sample(0, 20);
    sample(1, 25);
    sample(0, 200); // peak: server 0 now costs 200
    assert.deepEqual(countIds(h.picks(50), 2), [0, 50]);
    // Many fast samples within a millisecond barely move it: the decay follows time, not request count.
    for (let i = 0; i < 100; i++) sample(0, 5);
    assert.deepEqual(countIds(h.picks(50), 2), [0, 50]);
    // 30 s later (3τ) the estimate has decayed to under 10% (e^-3 ≈ 0.05 of 200 = 10 ms), and a 5 ms sample keeps it there.
    advance(30_000);
    sample(1, 25);
    sample(0, 5);
    assert.deepEqual(countIds(h.picks(50), 2), [50, 0]);
  });

  test('cost multiplies by in-flight + 1', () => {
    const { h, sample } = clocked([1, 1], [3, 0]);
    sample(0, 10); // 10 * 4 = 40
    sample(1, 25); // 25 * 1 = 25
    assert.deepEqual(countIds(h.picks(20), 2), [0, 20]);
  });
});

describe('every algorithm', () => {
  for (const name of ALGORITHM_NAMES) {
    test(`${name}: reports its name, gives undefined with no server available, and never picks an unavailable one`, () => {
      const h = harness(name, [1, 2, 3, 1, 1], { random: seededRandom(9), now: () => 0 });
      assert.equal(h.algorithm.name, name);
      h.leave(1);
      h.leave(3);
      const seen = new Set(Array.from({ length: 300 }, (_, i) => h.algorithm.pick({ hashKey: `key-${i}` })!.id));
      assert.deepEqual([...seen].sort(), [0, 2, 4]);
      for (const id of [0, 2, 4]) h.leave(id);
      assert.equal(h.algorithm.pick({ hashKey: 'k' }), undefined);
    });
  }

  test('each createAlgorithm call returns a fresh instance with its own state', () => {
    const first = harness('round_robin', ones(3));
    const second = harness('round_robin', ones(3));
    assert.deepEqual(first.picks(2), [0, 1]);
    assert.deepEqual(second.picks(2), [0, 1]);
  });
});

describe('heap-based algorithms agree with a full scan', () => {
  for (const name of ['least_connections', 'least_response_time'] as const) {
    test(`${name}: over 5,000 seeded random load changes, leaves, returns and picks, every pick has the lowest score`, () => {
      const random = seededRandom(11);
      const weights = Array.from({ length: 40 }, () => 1 + Math.floor(random() * 4));
      const h = harness(name, weights);
      const latency = weights.map(() => 1 + Math.floor(random() * 50));
      if (name === 'least_response_time') { for (const s of h.servers) h.algorithm.responded!(s, latency[s.id]!); }
      const available = new Set(h.servers.map((s) => s.id));
      const score = (id: number): number => {
        const s = h.servers[id]!;
        return name === 'least_connections' ? s.inFlight / s.weight : (latency[id]! * (s.inFlight + 1)) / s.weight;
      };
      for (let step = 0; step < 5000; step++) {
        const id = Math.floor(random() * weights.length);
        const action = random();
        if (action < 0.5) h.setLoad(id, Math.floor(random() * 10));
        else if (action < 0.6 && available.size > 1) {
          if (available.delete(id)) h.leave(id);
        } else if (action < 0.7) {
          if (!available.has(id)) {
            available.add(id);
            h.join(id);
          }
        } else {
          const picked = h.algorithm.pick({})!.id;
          assert.ok(available.has(picked), `picked unavailable ${picked}`);
          const best = Math.min(...[...available].map(score));
          assert.ok(Math.abs(score(picked) - best) < 1e-9, `step ${step}: picked ${picked} scoring ${score(picked)}, best ${best}`);
        }
      }
    });
  }
});

describe('weighted sampling', () => {
  test('draws each slot with probability weight / total, also with very unequal weights and after changes (seed 12, 200,000 draws)', async () => {
    const { WeightedSampler } = await import('../../src/core/selection/weighted-sampler.ts');
    const sampler = new WeightedSampler();
    const random = seededRandom(12);
    // 1000 against 1s makes stochastic acceptance fail often, so the exact tree descent is exercised too.
    for (const [slot, weight] of [[0, 1], [1, 1000], [2, 3], [3, 7], [40, 2]] as const) sampler.set(slot, weight);
    sampler.set(3, 0);
    sampler.set(2, 5);
    const weights = new Map([[0, 1], [1, 1000], [2, 5], [40, 2]]);
    const counts = new Map<number, number>();
    for (let i = 0; i < 200_000; i++) {
      const slot = sampler.sample(random);
      counts.set(slot, (counts.get(slot) ?? 0) + 1);
    }
    assert.equal(counts.get(3), undefined, 'a slot set to 0 was drawn');
    for (const [slot, weight] of weights) {
      const expected = (200_000 * weight) / 1008;
      // Five standard deviations of a binomial count.
      const bound = 5 * Math.sqrt(expected * (1 - weight / 1008));
      assert.ok(
        Math.abs((counts.get(slot) ?? 0) - expected) <= bound,
        `slot ${slot}: ${counts.get(slot)} draws, expected ${expected.toFixed(0)} ± ${bound.toFixed(0)}`,
      );
    }
  });
});
