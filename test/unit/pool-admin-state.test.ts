/** The admin API's pool control: adminState feeds availability (drain keeps pinned clients), DELETE drains then removes. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPoolControl } from '../../src/core/admin/balancer-pool-control.ts';
import { mergeExpositions } from '../../src/core/cluster/merge-prometheus.ts';
import { InFlightTracker } from '../../src/core/upstream/in-flight.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';
import type { UpstreamServer } from '../../src/core/upstream/upstream-server.ts';

const URLS = ['http://10.0.0.1:80', 'http://10.0.0.2:80'];

function setup() {
  const pool = new ServerPool(URLS.map((url) => ({ url, weight: 1 })));
  const membership: string[] = [];
  const control = createPoolControl(pool, { added: (s) => membership.push(`+${s.url}`), removed: (s) => membership.push(`-${s.url}`) });
  const inFlight = new InFlightTracker((server: UpstreamServer) => control.loadChanged(server));
  return { pool, control, inFlight, membership, a: pool.servers[0]!, b: pool.servers[1]! };
}

describe('pool control', () => {
  test('drain and disabled take a server out of selection; drain still takes pinned clients, disabled does not', () => {
    const { pool, control, a } = setup();
    assert.equal(control.update(a.serverId, { adminState: 'drain' })?.adminState, 'drain');
    assert.equal(pool.isAvailable(a), false);
    assert.equal(pool.acceptsPinned(a), true);
    assert.deepEqual(pool.healthy.map((s) => s.url), [URLS[1]]);
    control.update(a.serverId, { adminState: 'disabled' });
    assert.equal(pool.acceptsPinned(a), false);
    control.update(a.serverId, { adminState: 'active' });
    assert.equal(pool.isAvailable(a), true);
    assert.equal(pool.availableCount, 2);
  });

  test('an unhealthy drained server is counted out once, and comes back only when both allow it', () => {
    const { pool, a } = setup();
    pool.setAdminState(a, 'drain');
    pool.setHealthy(a, false);
    assert.equal(pool.availableCount, 1);
    pool.setHealthy(a, true);
    assert.equal(pool.availableCount, 1);
    pool.setAdminState(a, 'active');
    assert.equal(pool.availableCount, 2);
  });

  test('DELETE drains a busy server and removes it when its last in-flight request ends', () => {
    const { pool, control, inFlight, membership, a } = setup();
    const lease = inFlight.acquire(a);
    const view = control.remove(a.serverId);
    assert.equal(view?.removing, true);
    assert.equal(view?.adminState, 'drain');
    assert.equal(pool.servers.length, 2, 'still in the pool while a request is in flight');
    lease.release();
    assert.deepEqual(pool.servers.map((s) => s.url), [URLS[1]]);
    assert.deepEqual(membership, [`-${URLS[0]}`]);
  });

  test('add refuses an origin already in the pool and tells membership of a new one', () => {
    const { control, membership } = setup();
    assert.equal(control.add({ url: URLS[0]!, weight: 1 }).ok, false);
    const added = control.add({ url: 'http://10.0.0.3:80', weight: 4 });
    assert.ok(added.ok && added.server.weight === 4);
    assert.deepEqual(membership, ['+http://10.0.0.3:80']);
  });
});

describe('merged exposition', () => {
  test("each family once, with every source's samples under it", () => {
    const one = '# HELP x_total X.\n# TYPE x_total counter\nx_total{worker="1"} 1\n# HELP y Y.\n# TYPE y gauge\ny{worker="1"} 2\n';
    const two = '# HELP x_total X.\n# TYPE x_total counter\nx_total{worker="2"} 3\n# HELP y Y.\n# TYPE y gauge\ny{worker="2"} 4\n';
    assert.equal(
      mergeExpositions([one, two]),
      '# HELP x_total X.\n# TYPE x_total counter\nx_total{worker="1"} 1\nx_total{worker="2"} 3\n# HELP y Y.\n# TYPE y gauge\ny{worker="1"} 2\ny{worker="2"} 4\n',
    );
  });
});
