/** AttemptSignal: an attempt's stop signal that undici can take as it is, and a Web AbortSignal made only when asked for. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AttemptSignal } from '../../src/core/proxy/attempt-signal.ts';

describe('AttemptSignal', () => {
  test('abort calls each listener once with the first reason kept; a removed listener is not called', () => {
    const signal = new AttemptSignal();
    const heard: string[] = [];
    const removed = () => heard.push('removed');
    signal.addEventListener('abort', () => heard.push(`first ${String(signal.reason)}`));
    signal.addEventListener('abort', removed);
    signal.removeEventListener('abort', removed);
    signal.abort('why');
    signal.abort('later');
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, 'why');
    assert.deepEqual(heard, ['first why']);
  });

  test('a listener object has its handleEvent called, as an EventTarget does, and can be removed like a function', () => {
    const signal = new AttemptSignal();
    const heard: string[] = [];
    const kept = { handleEvent: () => heard.push(`kept ${String(signal.reason)}`) };
    const removed = { handleEvent: () => heard.push('removed') };
    signal.addEventListener('abort', kept);
    signal.addEventListener('abort', removed);
    signal.removeEventListener('abort', removed);
    signal.abort('why');
    assert.deepEqual(heard, ['kept why']);
  });

  test('the Web AbortSignal follows it, whether asked for before or after the abort', () => {
    const before = new AttemptSignal();
    const web = before.signal;
    assert.equal(web.aborted, false);
    before.abort('stop');
    assert.equal(web.aborted, true);
    assert.equal(web.reason, 'stop');
    const after = new AttemptSignal();
    after.abort('gone');
    assert.equal(after.signal.aborted, true);
    assert.equal(after.signal.reason, 'gone');
  });
});
