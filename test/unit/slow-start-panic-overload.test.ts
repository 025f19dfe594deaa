/** Slow start's ramp, the panic threshold, and the overload queue (caps, FIFO wake-ups, timeouts, bounds, aborts). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionQueue } from '../../src/core/proxy/admission-queue.ts';
import { inPanic, selectableServers } from '../../src/core/upstream/panic-threshold.ts';
import { SlowStart, slowStartFactor } from '../../src/core/upstream/slow-start.ts';
import { FakeClock } from './fake-clock.ts';

describe('slow start', () => {
  test("Envoy's formula: linear from 10% of the weight to all of it over the window", () => {
    assert.equal(slowStartFactor(0, 10_000), 0.1);
    assert.equal(slowStartFactor(500, 10_000), 0.1);
    assert.equal(slowStartFactor(5_000, 10_000), 0.5);
    assert.equal(slowStartFactor(10_000, 10_000), 1);
    assert.equal(slowStartFactor(2_500, 10_000, 2), 0.5, 'aggression 2 ramps as a square root');
    assert.equal(slowStartFactor(0, 0), 1, 'a window of 0 is off');
  });

  test('a server ramps from the moment it enters, and is at full weight when the window ends', () => {
    const clock = new FakeClock();
    const ramp = new SlowStart<object>(10_000, clock);
    const server = {};
    assert.equal(ramp.effectiveWeight(server, 4), 4, 'a server never returned is at full weight');
    ramp.enter(server);
    assert.equal(ramp.effectiveWeight(server, 4), 0.4);
    clock.advance(7_500);
    assert.equal(ramp.effectiveWeight(server, 4), 3);
    assert.equal(ramp.remainingMs(server), 2_500);
    clock.advance(2_500);
    assert.equal(ramp.factor(server), 1);
    assert.equal(ramp.remainingMs(server), 0);
  });

  test('leaving rotation ends a ramp, and SLOW_START_MS=0 never ramps', () => {
    const clock = new FakeClock();
    const ramp = new SlowStart<object>(10_000, clock);
    const server = {};
    ramp.enter(server);
    ramp.leave(server);
    assert.equal(ramp.factor(server), 1);
    const off = new SlowStart<object>(0, clock);
    off.enter(server);
    assert.equal(off.factor(server), 1);
    assert.equal(off.enabled, false);
  });
});

describe('panic threshold', () => {
  test('below the threshold every server is selectable; at or above it only those in rotation', () => {
    const all = ['a', 'b', 'c', 'd'];
    assert.deepEqual(selectableServers(['a'], all, 50), { servers: all, panic: true });
    assert.deepEqual(selectableServers(['a', 'b'], all, 50), { servers: ['a', 'b'], panic: false });
    assert.deepEqual(selectableServers([], all, 1), { servers: all, panic: true });
  });

  test('0 (the default) is off: with nothing in rotation nothing is selectable, so Fairway answers 503', () => {
    assert.equal(inPanic(0, 4, 0), false);
    assert.deepEqual(selectableServers([], ['a'], 0), { servers: [], panic: false });
    assert.equal(inPanic(0, 0, 50), false, 'an empty pool is not a panic');
  });
});

/** Lets every promise reaction already queued run (a macrotask comes after all microtasks). */
const settled = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('overload queue', () => {
  const options = { maxRequestsPerServer: 2, timeoutMs: 1_000, maxLength: 3 };

  test('MAX_REQUESTS_PER_SERVER caps a server; unset means no cap', () => {
    assert.equal(new AdmissionQueue(options).hasRoom(1), true);
    assert.equal(new AdmissionQueue(options).hasRoom(2), false);
    assert.equal(new AdmissionQueue({ ...options, maxRequestsPerServer: undefined }).hasRoom(1e9), true);
  });

  test('each release wakes the oldest waiter, one per release', async () => {
    const queue = new AdmissionQueue(options, new FakeClock());
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => queue.wait().then((r) => (order.push(n), r)));
    queue.released();
    await settled();
    assert.deepEqual(order, [1], 'the first release did not wake the oldest waiter alone');
    queue.released();
    queue.released();
    assert.deepEqual(await Promise.all(waits), ['ready', 'ready', 'ready']);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(queue.length, 0);
  });

  test('a waiter not woken within QUEUE_TIMEOUT_MS times out, and Retry-After is that timeout in whole seconds', async () => {
    const clock = new FakeClock();
    const queue = new AdmissionQueue({ ...options, timeoutMs: 1_500 }, clock);
    const wait = queue.wait();
    clock.advance(1_499);
    assert.equal(queue.length, 1);
    clock.advance(1);
    assert.equal(await wait, 'timeout');
    assert.equal(queue.retryAfterSeconds, 2);
    queue.released();
    assert.equal(queue.length, 0);
  });

  test('the queue is bounded: a waiter beyond QUEUE_MAX_LENGTH is refused at once', async () => {
    const queue = new AdmissionQueue(options, new FakeClock());
    for (let i = 0; i < 3; i++) void queue.wait();
    assert.equal(await queue.wait(), 'full');
    assert.equal(queue.length, 3);
  });

  test('a client that leaves stops waiting at once and gives up its place', async () => {
    const queue = new AdmissionQueue(options, new FakeClock());
    const controller = new AbortController();
    const leaving = queue.wait(controller.signal);
    const staying = queue.wait();
    controller.abort();
    assert.equal(await leaving, 'aborted');
    queue.released();
    assert.equal(await staying, 'ready');
    assert.equal(await queue.wait(AbortSignal.abort()), 'aborted');
  });

  test('rejectAll ends every wait at once (shutdown), and cancels their timers', async () => {
    const clock = new FakeClock();
    const queue = new AdmissionQueue(options, clock);
    const waits = [queue.wait(), queue.wait()];
    queue.rejectAll();
    assert.deepEqual(await Promise.all(waits), ['timeout', 'timeout']);
    assert.equal(clock.timers.size, 0);
  });
});
