/** Outlier ejection: what counts, thresholds, growing and capped ejections, the pool's floor and the injected clock. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type AttemptOutcome, serverVerdict } from '../../src/core/upstream/attempt-outcome.ts';
import { OutlierDetector, type OutlierEvent, type OutlierOptions } from '../../src/core/upstream/outlier-detector.ts';
import { FakeClock } from './fake-clock.ts';
import { recordingLogger } from './fakes.ts';

interface FakeServer {
  readonly url: string;
  healthy: boolean;
}

const DEFAULTS: OutlierOptions = { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 10, count5xx: false };
const REFUSED: AttemptOutcome = { kind: 'failure', failure: 'connect_refused' };
const OK: AttemptOutcome = { kind: 'response', status: 200 };

function setup(count = 3, options: Partial<OutlierOptions> = {}) {
  const servers: FakeServer[] = Array.from({ length: count }, (_, i) => ({ url: `http://10.0.0.${i + 1}:5000`, healthy: true }));
  const clock = new FakeClock();
  const { logger, calls: logs } = recordingLogger();
  const events: OutlierEvent<FakeServer>[] = [];
  const detector: OutlierDetector<FakeServer> = new OutlierDetector(
    { servers: () => servers, inRotation: (s) => s.healthy && !detector.isEjected(s) },
    { ...DEFAULTS, ...options },
    logger,
    clock,
  );
  detector.onChange((e) => events.push(e));
  const fail = (server: FakeServer, times: number, outcome: AttemptOutcome = REFUSED) => {
    for (let i = 0; i < times; i++) detector.record(server, outcome);
  };
  return { servers, clock, detector, logs, events, fail, a: servers[0]!, b: servers[1]! };
}

describe('what counts against a server', () => {
  test('connect errors, resets and timeouts of sent requests are faults; refusals by Fairway and client faults never count', () => {
    for (const failure of ['connect_refused', 'connect_timeout', 'reset', 'upstream_timeout'] as const) {
      assert.equal(serverVerdict({ kind: 'failure', failure }, false), 'fault', failure);
    }
    for (const failure of ['not_sent', 'client_fault'] as const) assert.equal(serverVerdict({ kind: 'failure', failure }, true), 'not_counted', failure);
  });

  test('5xx answers count only with OUTLIER_COUNT_5XX; other answers are successes', () => {
    assert.equal(serverVerdict({ kind: 'response', status: 503 }, false), 'success');
    assert.equal(serverVerdict({ kind: 'response', status: 503 }, true), 'fault');
    assert.equal(serverVerdict({ kind: 'response', status: 404 }, true), 'success');
  });

  test('client faults in any number never eject, nor break a failure streak', () => {
    const { detector, fail, a } = setup();
    fail(a, 4);
    fail(a, 50, { kind: 'failure', failure: 'client_fault' });
    fail(a, 50, { kind: 'failure', failure: 'not_sent' });
    assert.equal(detector.isEjected(a), false);
    fail(a, 1);
    assert.equal(detector.isEjected(a), true, 'the not-counted outcomes reset the streak');
  });
});

describe('ejection', () => {
  test('OUTLIER_CONSECUTIVE_FAILURES faults in a row eject, one fewer does not', () => {
    const { detector, fail, a, events, logs } = setup();
    fail(a, 4);
    assert.equal(detector.isEjected(a), false);
    fail(a, 1);
    assert.equal(detector.isEjected(a), true);
    assert.deepEqual(events, [{ type: 'ejected', server: a, until: 1_030_000 }]);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.properties.event, 'server_ejected');
    assert.equal(logs[0]!.properties.reason, 'connect refused');
  });

  test('a success resets the streak', () => {
    const { detector, fail, a } = setup();
    fail(a, 4);
    detector.record(a, OK);
    fail(a, 4);
    assert.equal(detector.isEjected(a), false);
    assert.equal(detector.state(a).consecutiveFailures, 4);
  });

  test('5xx answers eject with OUTLIER_COUNT_5XX=true and never without it', () => {
    const off = setup(3, { count5xx: false });
    off.fail(off.a, 10, { kind: 'response', status: 503 });
    assert.equal(off.detector.isEjected(off.a), false);
    const on = setup(3, { count5xx: true });
    on.fail(on.a, 5, { kind: 'response', status: 503 });
    assert.equal(on.detector.isEjected(on.a), true);
  });

  test('an ejection lasts base × times ejected, capped at the maximum, and ends on its timer with one event', () => {
    const { detector, fail, a, clock, events } = setup(3, { baseEjectionMs: 100, maxEjectionMs: 250 });
    const lengths: number[] = [];
    for (let n = 0; n < 4; n++) {
      fail(a, 5);
      const until = detector.state(a).ejectedUntil!;
      lengths.push(until - clock.time);
      clock.advance(until - clock.time - 1);
      assert.equal(detector.isEjected(a), true, 'returned early');
      clock.advance(1);
      assert.equal(events.at(-1)!.type, 'returned', 'the timer did not end the ejection');
      assert.equal(detector.isEjected(a), false);
    }
    assert.deepEqual(lengths, [100, 200, 250, 250]);
    assert.equal(detector.state(a).ejections, 4);
  });

  test('a server that stays in rotation for the longest ejection starts again from the base', () => {
    const { detector, fail, a, clock } = setup(3, { baseEjectionMs: 100, maxEjectionMs: 250 });
    fail(a, 5);
    clock.advance(100);
    fail(a, 5);
    clock.advance(200);
    clock.advance(250);
    fail(a, 5);
    assert.equal(detector.state(a).ejectedUntil! - clock.time, 100);
  });

  test('ejection ends by the clock even when its timer never fired', () => {
    const { detector, fail, a, clock } = setup();
    fail(a, 5);
    clock.timers.clear();
    clock.time += 30_000;
    assert.equal(detector.isEjected(a), false);
  });

  test('failures of attempts started before the ejection neither extend it nor count towards the next', () => {
    const { detector, fail, a, clock } = setup();
    fail(a, 5);
    const until = detector.state(a).ejectedUntil;
    fail(a, 20);
    assert.equal(detector.state(a).ejectedUntil, until);
    clock.advance(30_000);
    fail(a, 4);
    assert.equal(detector.isEjected(a), false);
  });

  test('a passing health probe does not cut an ejection short: health is not an input to the detector', () => {
    const { detector, fail, a, clock } = setup();
    fail(a, 5);
    a.healthy = false;
    a.healthy = true;
    clock.advance(29_999);
    assert.equal(detector.isEjected(a), true);
  });
});

describe('the pool keeps servers in rotation', () => {
  test('a one-server pool never ejects, and says so once per failure streak', () => {
    const { detector, fail, a, logs } = setup(1);
    fail(a, 50);
    assert.equal(detector.isEjected(a), false);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.properties.event, 'ejection_refused');
    assert.match(String(logs[0]!.properties.refusal), /last server in rotation/);
  });

  test('the last server in rotation is not ejected even when others exist but are unhealthy', () => {
    const { detector, fail, servers } = setup(3, { maxEjectionPercent: 100 });
    servers[1]!.healthy = false;
    servers[2]!.healthy = false;
    fail(servers[0]!, 10);
    assert.equal(detector.isEjected(servers[0]!), false);
  });

  test('OUTLIER_MAX_EJECTION_PERCENT=10 still allows one server out of three, not two', () => {
    const { detector, fail, a, b } = setup(3);
    fail(a, 5);
    fail(b, 5);
    assert.equal(detector.isEjected(a), true);
    assert.equal(detector.isEjected(b), false);
    assert.equal(detector.ejectedCount, 1);
  });

  test('OUTLIER_MAX_EJECTION_PERCENT=50 of four allows two; the next waits until one returns', () => {
    const { detector, fail, servers, clock } = setup(4, { maxEjectionPercent: 50 });
    for (const s of servers.slice(0, 3)) fail(s, 5);
    assert.deepEqual(servers.map((s) => detector.isEjected(s)), [true, true, false, false]);
    clock.advance(30_000);
    fail(servers[2]!, 1);
    assert.equal(detector.isEjected(servers[2]!), true, 'the refused server was not ejected once there was room');
  });

  test('forget() drops a removed server without an event, and its timer no longer fires', () => {
    const { detector, fail, a, clock, events } = setup();
    fail(a, 5);
    detector.forget(a);
    clock.advance(30_000);
    assert.equal(events.length, 1);
    assert.equal(detector.ejectedCount, 0);
  });
});
