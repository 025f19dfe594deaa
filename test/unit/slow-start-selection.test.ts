/**
 * Slow start applied (SLOW_START_MS): a server returning to rotation gets its ramped share from every weighted
 * algorithm, then its full share once the ramp ends; the pool starts and ends ramps; /lb/stats shows the share.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlgorithmName } from '../../src/core/selection/algorithm.ts';
import { seededRandom } from '../../src/core/selection/seeded-random.ts';
import { createSelector, type Selector } from '../../src/core/selection/selector.ts';
import { createResilience } from '../../src/core/resilience-wiring.ts';
import { RESILIENCE_DEFAULTS } from '../../src/core/config/resilience-types.ts';
import { InFlightTracker } from '../../src/core/upstream/in-flight.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';
import { SlowStart } from '../../src/core/upstream/slow-start.ts';
import type { UpstreamServer } from '../../src/core/upstream/upstream-server.ts';
import { FakeClock } from './fake-clock.ts';
import { testConfig } from './fakes.ts';

const WINDOW_MS = 10_000;

function setup(algorithm: AlgorithmName, weights = [1, 1, 1]) {
  const clock = new FakeClock();
  const pool = new ServerPool(weights.map((weight, i) => ({ url: `http://10.0.0.${i + 1}:80`, weight })), new SlowStart(WINDOW_MS, clock));
  const selector: Selector = createSelector(pool, { algorithm, random: seededRandom(7), now: () => clock.now() });
  const inFlight = new InFlightTracker((server) => selector.loadChanged(server));
  // Every server answered once in 10 ms, so latency-aware algorithms see them alike and only weight and load differ.
  for (const server of pool.servers) selector.responded(server, 10);
  return { clock, pool, selector, inFlight, servers: pool.servers };
}

/** The share of `count` picks each server got. Load-aware algorithms keep every request in flight, so load builds by weight. */
function shares(selector: Selector, inFlight: InFlightTracker, servers: readonly UpstreamServer[], count: number, keepInFlight: boolean): number[] {
  const picks = new Map<UpstreamServer, number>();
  const leases = [];
  for (let i = 0; i < count; i++) {
    const server = selector.pick()!;
    picks.set(server, (picks.get(server) ?? 0) + 1);
    if (keepInFlight) leases.push(inFlight.acquire(server));
  }
  for (const lease of leases) lease.release();
  return servers.map((s) => (picks.get(s) ?? 0) / count);
}

/** Out of rotation and back: the return starts its ramp. */
function bounce(pool: ServerPool, server: UpstreamServer): void {
  pool.setHealthy(server, false);
  pool.setHealthy(server, true);
}

const WEIGHTED: readonly { name: AlgorithmName; loadAware: boolean; tolerance: number }[] = [
  { name: 'weighted_round_robin', loadAware: false, tolerance: 0.01 },
  { name: 'random', loadAware: false, tolerance: 0.02 },
  { name: 'least_connections', loadAware: true, tolerance: 0.01 },
  { name: 'least_response_time', loadAware: true, tolerance: 0.01 },
  { name: 'power_of_two', loadAware: true, tolerance: 0.03 },
  { name: 'peak_ewma', loadAware: true, tolerance: 0.03 },
];

describe('slow start in selection', () => {
  for (const { name, loadAware, tolerance } of WEIGHTED) {
    test(`${name}: a returning server gets its ramped share (10%, then half), then its full share once the ramp ends`, () => {
      const { clock, pool, selector, inFlight, servers } = setup(name);
      const c = servers[2]!;
      bounce(pool, c);
      const near = (actual: number, expected: number, what: string) =>
        assert.ok(Math.abs(actual - expected) <= tolerance, `${name} ${what}: c got ${(actual * 100).toFixed(2)}%, expected ${(expected * 100).toFixed(2)}%`);
      // 10% of weight 1 beside two servers at 1: 0.1 / 2.1 of the picks.
      near(shares(selector, inFlight, servers, 4_200, loadAware)[2]!, 0.1 / 2.1, 'at the start of its ramp');
      clock.advance(WINDOW_MS / 2);
      near(shares(selector, inFlight, servers, 5_000, loadAware)[2]!, 0.5 / 2.5, 'half way');
      clock.advance(WINDOW_MS / 2);
      near(shares(selector, inFlight, servers, 6_000, loadAware)[2]!, 1 / 3, 'after the ramp');
      assert.equal(pool.slowStart.ramping, 0, 'the finished ramp is dropped');
    });
  }

  test('weights other than 1 ramp in proportion: weight 3 at 10% is 0.3 beside weights 1 and 1', () => {
    const { pool, selector, inFlight, servers } = setup('weighted_round_robin', [1, 1, 3]);
    bounce(pool, servers[2]!);
    const share = shares(selector, inFlight, servers, 2_300, false)[2]!;
    assert.ok(Math.abs(share - 0.3 / 2.3) < 0.01, `${share}`);
  });

  test('servers configured at start, and every server with SLOW_START_MS=0, get their full share at once', () => {
    const { selector, inFlight, servers, pool } = setup('weighted_round_robin');
    assert.deepEqual(shares(selector, inFlight, servers, 3_000, false), [1 / 3, 1 / 3, 1 / 3]);
    const off = new ServerPool([{ url: 'http://10.0.0.1:80', weight: 1 }, { url: 'http://10.0.0.2:80', weight: 1 }]);
    const offSelector = createSelector(off, { algorithm: 'weighted_round_robin' });
    bounce(off, off.servers[1]!);
    assert.deepEqual(shares(offSelector, new InFlightTracker(), off.servers, 1_000, false), [0.5, 0.5]);
    assert.equal(pool.slowStart.ramping, 0);
  });

  test('consistent_hash keeps each key on its server: its table ignores the ramp', () => {
    const { pool, selector, servers } = setup('consistent_hash');
    const before = Array.from({ length: 200 }, (_, i) => selector.pick({ hashKey: `k${i}` })!.id);
    bounce(pool, servers[2]!);
    assert.deepEqual(Array.from({ length: 200 }, (_, i) => selector.pick({ hashKey: `k${i}` })!.id), before);
  });
});

describe('which returns ramp', () => {
  test('health rising, an ejection ending, being added and being re-enabled start a ramp; leaving rotation ends it', () => {
    const { clock, pool, servers } = setup('round_robin');
    const [a, b, c] = servers as [UpstreamServer, UpstreamServer, UpstreamServer];
    assert.equal(pool.slowStart.ramping, 0, 'configured servers start at full weight');
    bounce(pool, a);
    pool.setEjected(b, true);
    pool.setEjected(b, false);
    pool.setAdminState(c, 'disabled');
    pool.setAdminState(c, 'active');
    const added = pool.add({ url: 'http://10.0.0.9:80', weight: 2 });
    for (const server of [a, b, c, added]) assert.equal(pool.slowStart.factor(server), 0.1, server.url);
    assert.equal(pool.selectionWeight(added), 20, '10% of weight 2, in hundredths');
    clock.advance(WINDOW_MS / 4);
    assert.equal(pool.slowStart.factor(a), 0.25);
    pool.setHealthy(a, false);
    assert.equal(pool.slowStart.factor(a), 1, 'out of rotation: no ramp');
    pool.remove(added);
    assert.equal(pool.slowStart.ramping, 2, 'b and c ramp; a left rotation, the added one left the pool');
  });

  test('/lb/stats shows the share a ramping server gets and when its ramp ends; null otherwise', () => {
    const { clock, pool, inFlight, servers } = setup('round_robin');
    const wiring = createResilience(testConfig({ resilience: { ...RESILIENCE_DEFAULTS, slowStartMs: WINDOW_MS } }), pool, inFlight);
    const [a, b] = servers as [UpstreamServer, UpstreamServer];
    bounce(pool, b);
    clock.advance(WINDOW_MS * 0.3);
    assert.deepEqual([wiring.stats(a).slowStartShare, wiring.stats(a).slowStartUntil], [null, null]);
    assert.equal(wiring.stats(b).slowStartShare, 0.3);
    assert.equal(wiring.stats(b).slowStartUntil, new Date(clock.now() + WINDOW_MS * 0.7).toISOString());
    clock.advance(WINDOW_MS);
    assert.equal(wiring.stats(b).slowStartShare, null, 'ramp over');
    wiring.stop();
  });
});

describe('a server removed from the pool', () => {
  test('takes its outlier history and ejection with it, and its ramp', () => {
    const { pool, inFlight, servers } = setup('round_robin');
    const wiring = createResilience(testConfig(), pool, inFlight);
    const outliers = wiring.resilience.parts.outliers!;
    const [a, b] = servers as [UpstreamServer, UpstreamServer];
    for (let i = 0; i < 5; i++) wiring.resilience.record(a, { kind: 'failure', failure: 'connect_refused' });
    wiring.resilience.record(b, { kind: 'failure', failure: 'reset' });
    assert.equal(outliers.ejectedCount, 1);
    pool.remove(a);
    pool.remove(b);
    assert.equal(outliers.ejectedCount, 0, 'its ejection (and the timer that would end it) is gone');
    assert.equal(outliers.streak(b).failures, 0, 'its failure streak is gone');
    assert.deepEqual(outliers.state(a), { consecutiveFailures: 0, ejections: 0, ejectedUntil: null });
    wiring.stop();
  });
});
