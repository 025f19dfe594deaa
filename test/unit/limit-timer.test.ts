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
});
