/** Whose fault a failed attempt was, on every runtime's error shape (issue 8, defect 1). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFailure, isServerFailure, STOP_REASON } from '../../src/core/proxy/classify-attempt.ts';
import { BodyLengthError } from '../../src/core/proxy/replayable-body.ts';

const withCause = (message: string, cause: unknown) => new TypeError(message, { cause });

describe('classifyFailure', () => {
  test('a refused connection is connect_refused on Node (undici), Bun and Deno', () => {
    assert.equal(
      classifyFailure(withCause('fetch failed', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), undefined, true),
      'connect_refused',
    );
    assert.equal(
      classifyFailure(Object.assign(new TypeError('ECONNREFUSED: Unable to connect'), { code: 'ECONNREFUSED' }), undefined, true),
      'connect_refused',
    );
    const deno = withCause('fetch failed', new Error('client error (Connect): tcp connect error: Connection refused (os error 111)'));
    assert.equal(classifyFailure(deno, undefined, true), 'connect_refused');
  });

  test("Bun's ECONNRESET for a connection that never opened is connect_refused: any method may be retried", () => {
    // What Bun 1.4's fetch throws when a stopping server's listener resets a connection still in its accept queue.
    const neverOpened = Object.assign(new TypeError('ECONNRESET: Unable to connect. Is the computer able to access the url?'), { code: 'ECONNRESET' });
    assert.equal(classifyFailure(neverOpened, undefined, true), 'connect_refused');
    // A kept-alive connection the server closed under the request: it may have reached the server, so only idempotent methods retry.
    const closedUnder = Object.assign(
      new TypeError('ECONNRESET: The socket connection was closed unexpectedly. For more information, pass `verbose: true` in the second argument to fetch()'),
      { code: 'ECONNRESET' },
    );
    assert.equal(classifyFailure(closedUnder, undefined, true), 'reset');
  });

  test('resets and connections closed before the head are reset on every runtime', () => {
    assert.equal(classifyFailure(withCause('fetch failed', new Error('Connection reset by peer (os error 104)')), undefined, true), 'reset');
    assert.equal(
      classifyFailure(withCause('fetch failed', new Error('client error (SendRequest): connection closed before message completed')), undefined, true),
      'reset',
    );
    assert.equal(classifyFailure(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), undefined, true), 'reset');
  });

  test('a timeout counts against the server only once the request was fully sent', () => {
    assert.equal(classifyFailure(STOP_REASON.timeout, STOP_REASON.timeout, true), 'upstream_timeout');
    assert.equal(classifyFailure(STOP_REASON.timeout, STOP_REASON.timeout, false), 'client_fault');
  });

  test('client faults and requests the runtime refused to send never count against the server', () => {
    assert.equal(classifyFailure(STOP_REASON.clientGone, STOP_REASON.clientGone, true), 'client_fault');
    assert.equal(classifyFailure(STOP_REASON.bodyTooLarge, STOP_REASON.bodyTooLarge, false), 'client_fault');
    assert.equal(classifyFailure(new BodyLengthError(3, 5, false), undefined, false), 'client_fault');
    // Bun refusing "Content-Length: 5, 5"; Deno refusing a forbidden method.
    assert.equal(classifyFailure(new TypeError('fetch() InvalidContentLength'), undefined, true), 'not_sent');
    assert.equal(classifyFailure(new TypeError('Method is forbidden.'), undefined, true), 'not_sent');
    assert.equal(isServerFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isServerFailure(new Error('some upload read failed')), false);
  });
});
