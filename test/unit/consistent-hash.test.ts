/** Consistent hashing: share of the key space, keys moved when servers come and go, and the same mapping in separate processes. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildMaglevTable } from '../../src/core/selection/maglev-table.ts';
import { createSelector } from '../../src/core/selection/selector.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';

const url = (i: number): string => `http://10.1.${i >> 8}.${i & 255}:8080`;
const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

/** Key → origin of the server it maps to, for every key. */
function mapping(pool: ServerPool): string[] {
  const selector = createSelector(pool, { algorithm: 'consistent_hash' });
  const result = KEYS.map((hashKey) => selector.pick({ hashKey })!.url);
  selector.close();
  return result;
}

const poolOf = (count: number, first = 0) => new ServerPool(Array.from({ length: count }, (_, i) => ({ url: url(first + i), weight: 1 })));
const movedShare = (before: readonly string[], after: readonly string[]): number => before.filter((origin, i) => origin !== after[i]).length / before.length;

describe('consistent_hash: share of the key space', () => {
  for (const weights of [[1, 1, 1], Array(10).fill(1), Array(100).fill(1), [5, 1, 1], [3, 2, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]) {
    test(`weights ${weights.length > 10 ? `${weights.length} × 1` : weights.join(',')}: every server's share of the table is within 5% of its fair share`, () => {
      const entries = weights.map((weight, i) => ({ url: url(i), weight }));
      const { table } = buildMaglevTable(entries);
      const counts = Array(weights.length).fill(0);
      for (const owner of table) counts[owner]++;
      const total = weights.reduce((sum, w) => sum + w, 0);
      for (const [i, weight] of weights.entries()) {
        const fair = (table.length * weight) / total;
        assert.ok(Math.abs(counts[i] - fair) <= 0.05 * fair, `server ${i}: ${counts[i]} slots, fair ${fair.toFixed(1)}`);
      }
    });
  }

  test('keys spread by weight: with 5,1,1 about 5/7, 1/7, 1/7 of 20,000 keys (within 5%)', () => {
    const pool = new ServerPool([5, 1, 1].map((weight, i) => ({ url: url(i), weight })));
    const counts = new Map<string, number>();
    for (const origin of mapping(pool)) counts.set(origin, (counts.get(origin) ?? 0) + 1);
    for (const [i, share] of [5 / 7, 1 / 7, 1 / 7].entries()) {
      const got = (counts.get(url(i)) ?? 0) / KEYS.length;
      assert.ok(Math.abs(got - share) <= 0.05 * share, `server ${i}: ${got}`);
    }
  });
});

describe('consistent_hash: keys moved when the pool changes', () => {
  for (const n of [3, 10, 100]) {
    test(`adding a server to ${n} moves about 1/${n + 1} of the keys, at least 80% of them to the new server`, () => {
      const pool = poolOf(n);
      const before = mapping(pool);
      pool.add({ url: url(n), weight: 1 });
      const after = mapping(pool);
      const moved = movedShare(before, after);
      const ideal = 1 / (n + 1);
      assert.ok(moved >= 0.8 * ideal && moved <= 1.25 * ideal + 0.005, `moved ${moved.toFixed(4)}, ideal ${ideal.toFixed(4)}`);
      const toNew = after.filter((origin, i) => origin !== before[i] && origin === url(n)).length / KEYS.length;
      assert.ok(toNew >= 0.8 * moved, `only ${toNew.toFixed(4)} of ${moved.toFixed(4)} moved to the new server`);
    });

    test(`removing one of ${n} servers moves about 1/${n} of the keys, at least 80% of them the removed server's`, () => {
      const pool = poolOf(n);
      const before = mapping(pool);
      const removed = pool.servers[Math.floor(n / 2)]!;
      pool.remove(removed);
      const after = mapping(pool);
      const moved = movedShare(before, after);
      const ideal = 1 / n;
      assert.ok(moved >= 0.8 * ideal && moved <= 1.25 * ideal + 0.005, `moved ${moved.toFixed(4)}, ideal ${ideal.toFixed(4)}`);
      const fromRemoved = before.filter((origin, i) => origin !== after[i] && origin === removed.url).length / KEYS.length;
      assert.ok(fromRemoved >= 0.8 * moved, `only ${fromRemoved.toFixed(4)} of ${moved.toFixed(4)} were the removed server's`);
    });
  }

  test("an unavailable server's keys, and only those, move to the others; they come back when it returns", () => {
    const pool = poolOf(10);
    const before = mapping(pool);
    const down = pool.servers[3]!;
    pool.setHealthy(down, false);
    const during = mapping(pool);
    for (const [i, origin] of before.entries()) {
      if (origin === down.url) assert.notEqual(during[i], down.url);
      else assert.equal(during[i], origin, `key ${KEYS[i]} moved although its server stayed up`);
    }
    // The moved keys spread over the others rather than piling onto one neighbour.
    const receivers = new Set(during.filter((origin, i) => origin !== before[i]));
    assert.ok(receivers.size >= 8, `moved keys went to only ${receivers.size} servers`);
    pool.setHealthy(down, true);
    assert.deepEqual(mapping(pool), before);
  });

  test('with every server but one unavailable, every key still finds that one', () => {
    const pool = poolOf(5);
    for (const server of pool.servers.slice(1)) pool.setHealthy(server, false);
    assert.ok(mapping(pool).every((origin) => origin === url(0)));
  });

  test('configured order does not matter: the same servers listed in another order give the same mapping', () => {
    const forward = poolOf(10);
    const reversed = new ServerPool(Array.from({ length: 10 }, (_, i) => ({ url: url(9 - i), weight: 1 })));
    assert.deepEqual(mapping(reversed), mapping(forward));
  });

  test('requests without a hash key go to HASH_FALLBACK (round_robin by default)', () => {
    const selector = createSelector(poolOf(3), { algorithm: 'consistent_hash' });
    assert.deepEqual([0, 1, 2, 3].map(() => selector.pick({})!.url), [url(0), url(1), url(2), url(0)]);
    const random = createSelector(poolOf(3), { algorithm: 'consistent_hash', hashFallback: 'least_connections' });
    assert.equal(random.pick()!.url, url(0));
  });
});

describe('consistent_hash: the same mapping in separately started processes', () => {
  test('two processes with the same servers (listed in different orders) map 2,000 keys identically', () => {
    const script = fileURLToPath(new URL('../support/consistent-hash-mapping.ts', import.meta.url));
    const g = globalThis as { Deno?: unknown; Bun?: unknown };
    // Each process is started the way this runtime runs TypeScript.
    const prefix = g.Deno ? ['run', '-A'] : g.Bun ? [] : ['--import', 'tsx'];
    const run = (order: 'forward' | 'reverse'): string[] =>
      JSON.parse(execFileSync(process.execPath, [...prefix, script, order], { encoding: 'utf8', timeout: 60_000 }));
    const first = run('forward');
    const second = run('reverse');
    assert.equal(first.length, 2000);
    assert.ok(new Set(first).size === 25, 'keys should reach every server');
    assert.deepEqual(second, first);
  });
});
