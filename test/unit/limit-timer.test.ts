/** LimitTimer: the one place where a configured limit of 0 means no limit. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LimitTimer } from '../../src/core/proxy/limit-timer.ts';

describe('LimitTimer', () => {
  test('a positive limit expires once, after it is started', async () => {
    let fired = 0;
    await new Promise<void>((resolve) => {
      const timer = new LimitTimer(5, () => {
        fired++;
        resolve();
      });
      assert.equal(timer.limited, true);
      timer.restart();
    });
    assert.equal(fired, 1);
  });

  test('restart pushes the expiry back; cancel stops it', async () => {
    let fired = false;
    const timer = new LimitTimer(20, () => {
      fired = true;
    });
    timer.restart();
    timer.restart();
    timer.cancel();
    // Absence can only be shown by waiting: twice the limit, past when it would have fired.
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(fired, false);
    assert.equal(timer.expired, false);
  });

  test('a limit of 0 arms nothing: no limit', async () => {
    let fired = false;
    const timer = new LimitTimer(0, () => {
      fired = true;
    });
    timer.restart();
    assert.equal(timer.limited, false);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(fired, false);
  });

  test('an owner is told which of its limits expired', async () => {
    const expired: unknown[] = [];
    const owner = { limitExpired: (reason: unknown) => expired.push(reason) };
    new LimitTimer(5, owner, 'read').restart();
    new LimitTimer(5, owner, 'body');
    await new Promise<void>((resolve) => new LimitTimer(30, resolve).restart());
    assert.deepEqual(expired, ['read']);
  });

  test('timers of one limit share a list: each expires on its own deadline, in order, and a cancelled one never does', async () => {
    const fired: string[] = [];
    const a = new LimitTimer(15, () => fired.push('a'));
    const b = new LimitTimer(15, () => fired.push('b'));
    const c = new LimitTimer(15, () => fired.push('c'));
    a.restart();
    b.restart();
    c.restart();
    b.cancel();
    a.restart(); // now after c
    await new Promise<void>((resolve) => new LimitTimer(40, resolve).restart());
    assert.deepEqual(fired, ['c', 'a']);
    assert.equal(b.expired, false);
  });

  test('a timer cancelled by the callback of another of the same limit, both due, does not fire', async () => {
    const fired: string[] = [];
    let second: LimitTimer | undefined = undefined;
    const first = new LimitTimer(10, () => {
      fired.push('first');
      second?.cancel();
    });
    second = new LimitTimer(10, () => fired.push('second'));
    first.restart();
    second.restart();
    await new Promise<void>((resolve) => new LimitTimer(30, resolve).restart());
    assert.deepEqual(fired, ['first']);
  });
});
