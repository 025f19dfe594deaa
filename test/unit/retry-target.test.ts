/** Where a retry goes: an untried server that is not failing first; back to a tried one only when none is left, never to a refusing one first. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionQueue } from '../../src/core/proxy/admission-queue.ts';
import { Resilience } from '../../src/core/proxy/resilience.ts';
import { RetryPolicy } from '../../src/core/proxy/retry-policy.ts';
import type { AttemptOutcome } from '../../src/core/upstream/attempt-outcome.ts';
import { InFlightTracker } from '../../src/core/upstream/in-flight.ts';
import { OutlierDetector } from '../../src/core/upstream/outlier-detector.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';
import type { UpstreamServer } from '../../src/core/upstream/upstream-server.ts';
import { FakeClock } from './fake-clock.ts';
import { recordingLogger } from './fakes.ts';

const REFUSED: AttemptOutcome = { kind: 'failure', failure: 'connect_refused' };
const RESET: AttemptOutcome = { kind: 'failure', failure: 'reset' };
const OK: AttemptOutcome = { kind: 'response', status: 200 };

function setup(count: number) {
  const pool = new ServerPool(Array.from({ length: count }, (_, i) => ({ url: `http://10.0.0.${i + 1}:5000`, weight: 1 })));
  const inFlight = new InFlightTracker();
  const outliers = new OutlierDetector<UpstreamServer>(
    { servers: () => pool.servers, inRotation: (s) => pool.isAvailable(s) },
    { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 10, count5xx: false },
    recordingLogger().logger,
    new FakeClock(),
  );
  outliers.onChange((event) => pool.setEjected(event.server, event.type === 'ejected'));
  const resilience = new Resilience({
    pool,
    inFlight,
    outliers,
    retry: new RetryPolicy({ retries: 2, retryOnStatus: [], deadlineMs: 0, budgetPercent: 20 }),
    queue: new AdmissionQueue({ maxRequestsPerServer: undefined, timeoutMs: 1_000, maxLength: 10 }),
    retryBufferBytes: 65_536,
    panicThresholdPercent: 0,
  });
  const [a, b, c] = pool.servers;
  return { pool, resilience, a: a!, b: b!, c: c! };
}

describe('retry target', () => {
  test('an untried server comes first; among untried ones, one that is not failing, then the least loaded', () => {
    const { resilience, a, b, c } = setup(3);
    b.inFlight = 3;
    assert.equal(resilience.retryTarget([a]), c, 'the least loaded untried server');
    resilience.record(c, REFUSED);
    assert.equal(resilience.retryTarget([a]), b, 'c refuses connections: the busier b, which is not failing, goes first');
    resilience.record(c, OK);
    assert.equal(resilience.retryTarget([a]), c, 'a success ends the streak');
  });

  test('with every server in rotation tried, a retry goes back to one that reset rather than to one that refuses connections', () => {
    // A rolling restart on Bun: a is ejected, b is stopping (refuses), c reset a request on a kept-alive connection it was closing.
    const { pool, resilience, a, b, c } = setup(3);
    pool.setEjected(a, true);
    resilience.record(b, REFUSED);
    resilience.record(c, RESET);
    c.inFlight = 5;
    assert.equal(resilience.retryTarget([b, c]), c, 'tried b then c: back to c, the one that just failed, on a new connection');
    assert.equal(resilience.retryTarget([c, b]), c, 'tried c then b');
    assert.equal(resilience.retryTarget([c]), b, 'an untried server still comes before one tried, even a refusing one');
  });

  test('a server tried already that refused the connection or timed out is never tried again', () => {
    const { pool, resilience, a, b, c } = setup(3);
    pool.setEjected(c, true);
    resilience.record(a, { kind: 'failure', failure: 'upstream_timeout' });
    assert.equal(resilience.retryTarget([a]), b);
    resilience.record(b, REFUSED);
    assert.equal(resilience.retryTarget([a, b]), undefined, 'a hung and b refused: nothing a retry could cure');
    resilience.record(b, RESET);
    assert.equal(resilience.retryTarget([a, b]), b, 'b reset: a new connection may cure it');
  });

  test('no server in rotation: no retry target, tried or not', () => {
    const { pool, resilience, a, b } = setup(2);
    pool.setHealthy(a, false);
    pool.setHealthy(b, false);
    assert.equal(resilience.retryTarget([a]), undefined);
  });

  test('a longer failure streak ranks below a shorter one', () => {
    const { resilience, a, b, c } = setup(3);
    for (let i = 0; i < 3; i++) resilience.record(b, RESET);
    resilience.record(c, RESET);
    assert.equal(resilience.retryTarget([a]), c);
  });
});
