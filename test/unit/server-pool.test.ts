/** The pool's events keep selection in step with health, membership and weight changes; server ids are stable. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSelector } from '../../src/core/selection/selector.ts';
import { serverIdOf } from '../../src/core/upstream/server-id.ts';
import { type PoolListener, ServerPool } from '../../src/core/upstream/server-pool.ts';
import { InFlightTracker } from '../../src/core/upstream/in-flight.ts';

const URLS = ['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.3:80'];
const poolOf = (weights = [1, 1, 1]) => new ServerPool(weights.map((weight, i) => ({ url: URLS[i]!, weight })));

function recorder(): { listener: PoolListener; events: string[] } {
  const events: string[] = [];
  return {
    events,
    listener: {
      configured: (servers) => events.push(`configured ${servers.map((s) => `${s.id}:${s.weight}`).join(',')}`),
      available: (server) => events.push(`available ${server.id}`),
      unavailable: (server) => events.push(`unavailable ${server.id}`),
    },
  };
}

describe('server ids', () => {
  test('are 16 hex digits of FNV-1a 64 of the origin, fixed across processes and releases', () => {
    // Pinned values: a change here breaks every sticky cookie already issued.
    assert.equal(serverIdOf(''), 'cbf29ce484222325');
    assert.equal(serverIdOf('a'), 'af63dc4c8601ec8c');
    assert.match(serverIdOf('http://10.0.0.1:80'), /^[0-9a-f]{16}$/);
    assert.equal(poolOf().servers[0]!.serverId, serverIdOf('http://10.0.0.1:80'));
  });

  test('differ between servers and do not depend on position or weight', () => {
    const ids = poolOf().servers.map((s) => s.serverId);
    assert.equal(new Set(ids).size, 3);
    const reordered = new ServerPool([{ url: URLS[2]!, weight: 9 }]);
    assert.equal(reordered.servers[0]!.serverId, ids[2]);
    assert.equal(poolOf().byServerId(ids[1]!)?.url, URLS[1]);
    assert.equal(poolOf().byServerId('0000000000000000'), undefined);
  });
});

describe('ServerPool events', () => {
  test('subscribe replays the configured set, then each available server', () => {
    const pool = poolOf();
    pool.setHealthy(pool.servers[1]!, false);
    const { listener, events } = recorder();
    pool.subscribe(listener);
    assert.deepEqual(events, ['configured 0:1,1:1,2:1', 'available 0', 'available 2']);
  });

  test('health changes are reported once per change', () => {
    const pool = poolOf();
    const { listener, events } = recorder();
    pool.subscribe(listener);
    events.length = 0;
    pool.setHealthy(pool.servers[0]!, false);
    pool.setHealthy(pool.servers[0]!, false);
    pool.setHealthy(pool.servers[0]!, true);
    assert.deepEqual(events, ['unavailable 0', 'available 0']);
    assert.equal(pool.availableCount, 3);
  });

  test('add, setWeight and remove report membership and configuration, and slots are never reused', () => {
    const pool = poolOf([1, 1]);
    const { listener, events } = recorder();
    pool.subscribe(listener);
    events.length = 0;
    const added = pool.add({ url: URLS[2]!, weight: 2 });
    assert.equal(added.id, 2);
    pool.setWeight(pool.servers[0]!, 5);
    pool.remove(pool.servers[1]!);
    assert.deepEqual(events, [
      'configured 0:1,1:1,2:2',
      'available 2',
      'unavailable 0',
      'configured 0:5,1:1,2:2',
      'available 0',
      'unavailable 1',
      'configured 0:5,2:2',
    ]);
    assert.equal(pool.add({ url: 'http://10.0.0.9:80', weight: 1 }).id, 3);
    assert.throws(() => pool.add({ url: URLS[0]!, weight: 1 }), /already in the pool/);
    assert.throws(() => pool.setWeight(pool.servers[0]!, 0), /positive integer/);
  });

  test('a removed server is no longer available, and its id no longer resolves', () => {
    const pool = poolOf();
    const server = pool.servers[0]!;
    pool.remove(server);
    assert.equal(pool.isAvailable(server), false);
    assert.equal(pool.byServerId(server.serverId), undefined);
    assert.equal(pool.setHealthy(server, false), true);
    assert.equal(pool.availableCount, 2);
  });
});

describe('selector and pool together', () => {
  test('least_connections follows in-flight leases through the InFlightTracker observer', () => {
    const pool = poolOf();
    const selector = createSelector(pool, { algorithm: 'least_connections' });
    const inFlight = new InFlightTracker((server) => selector.loadChanged(server));
    const leases = [0, 1, 2].map(() => inFlight.acquire(selector.pick()!));
    assert.deepEqual(leases.map((l) => l.server.id), [0, 1, 2]);
    leases[1]!.release();
    assert.equal(selector.pick()!.id, 1);
  });

  test('a server marked unhealthy is skipped by every later pick and picked again once healthy', () => {
    const pool = poolOf();
    const selector = createSelector(pool, { algorithm: 'round_robin' });
    pool.setHealthy(pool.servers[1]!, false);
    assert.deepEqual([1, 2, 3, 4].map(() => selector.pick()!.id), [0, 2, 0, 2]);
    pool.setHealthy(pool.servers[1]!, true);
    assert.deepEqual([1, 2, 3].map(() => selector.pick()!.id), [0, 1, 2]);
  });

  test('a server added at run time joins the rotation; a removed one leaves it', () => {
    const pool = poolOf([1, 1]);
    const selector = createSelector(pool, { algorithm: 'weighted_round_robin' });
    const added = pool.add({ url: URLS[2]!, weight: 2 });
    const picks = Array.from({ length: 8 }, () => selector.pick()!.id);
    assert.deepEqual([0, 1, 2].map((id) => picks.filter((p) => p === id).length), [2, 2, 4]);
    pool.remove(added);
    assert.ok(Array.from({ length: 10 }, () => selector.pick()!.id).every((id) => id !== 2));
  });

  test('closing a selector stops it following the pool', () => {
    const pool = poolOf();
    const { listener, events } = recorder();
    const stop = pool.subscribe(listener);
    stop();
    pool.setHealthy(pool.servers[0]!, false);
    assert.equal(events.length, 4);
  });
});
