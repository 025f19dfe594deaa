/** Upstream statuses Fairway relays, and those it answers 502 for instead (issue 8, defect 11). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { unrelayableStatus } from '../../src/core/proxy/response-status.ts';

describe('unrelayableStatus', () => {
  test('every final status from 200 to 599 is relayed, including unregistered ones', () => {
    for (const status of [200, 204, 299, 304, 399, 418, 499, 500, 599]) assert.equal(unrelayableStatus(status), undefined, String(status));
  });

  test('a status outside 100 to 599 (999, 0, 600, 1000) is refused with a reason naming it', () => {
    for (const status of [999, 0, 99, 600, 1000, -1, 200.5, Number.NaN]) {
      const reason = unrelayableStatus(status);
      assert.equal(typeof reason, 'string', String(status));
      assert.ok(reason!.includes(String(status)), String(reason));
    }
  });

  test('an interim (1xx) status arriving as the final response is refused', () => {
    assert.match(unrelayableStatus(100) ?? '', /interim status 100/);
    assert.match(unrelayableStatus(199) ?? '', /interim/);
  });
});
