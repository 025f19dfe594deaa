/** Log messages read as sentences: no JSON-quoted values, no Symbol(...) descriptions; error causes are spelled out for logs. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogRecord } from '@logtape/logtape';
import { plainValue, withPlainMessage } from '../../src/core/logging.ts';
import { describeError, describeErrorChain } from '../../src/core/proxy/describe-error.ts';
import { countOf } from '../../src/core/plural.ts';

const record = (message: unknown[]): LogRecord => ({ category: ['fairway'], level: 'info', message, rawMessage: '', timestamp: 0, properties: {} });

describe('log message rendering', () => {
  test('values inside a message are not JSON-quoted', () => {
    const rendered = withPlainMessage(
      record(['Fairway listening on ', 'http://0.0.0.0:8080', ' (', 'deno', ' ', '2.9.6', '), ', 'round_robin', ' over ', 2, ' servers']),
    );
    assert.deepEqual(rendered.message, ['Fairway listening on http://0.0.0.0:8080 (deno 2.9.6), round_robin over 2 servers']);
  });

  test('a Symbol reads as its description, an Error as its message, a list joined', () => {
    assert.equal(plainValue(Symbol('upstream timeout')), 'upstream timeout');
    assert.equal(plainValue(new Error('boom')), 'boom');
    assert.equal(plainValue(['a', 'b']), 'a, b');
    assert.equal(plainValue({ a: 1 }), '{"a":1}');
    assert.equal(plainValue(undefined), 'undefined');
  });

  test('counts agree with their noun: 1 server, 2 servers (the listening line said "over 1 servers")', () => {
    assert.equal(countOf(1, 'server'), '1 server');
    assert.equal(countOf(2, 'server'), '2 servers');
    assert.equal(countOf(0, 'server'), '0 servers');
  });

  test('a message without values is passed through untouched', () => {
    const r = record(['Shutting down']);
    assert.equal(withPlainMessage(r), r);
  });
});

describe('describeError and describeErrorChain', () => {
  test('a stop reason Symbol is described by its description, not as Symbol(...)', () => {
    assert.equal(describeError(Symbol('upstream timeout')), 'upstream timeout');
  });

  test('the chain spells out every cause, so "fetch failed" can be told apart', () => {
    const deno = new TypeError('fetch failed', {
      cause: new Error('client error (Connect)', {
        cause: Object.assign(new Error('tcp connect error: Connection refused (os error 111)'), { code: 'ECONNREFUSED' }),
      }),
    });
    assert.equal(describeErrorChain(deno), 'fetch failed: client error (Connect): tcp connect error: Connection refused (os error 111) (ECONNREFUSED)');
    const tls = new TypeError('fetch failed', { cause: new Error('invalid peer certificate: UnknownIssuer') });
    assert.equal(describeErrorChain(tls), 'fetch failed: invalid peer certificate: UnknownIssuer');
    assert.equal(describeErrorChain('plain'), 'plain');
    assert.equal(describeErrorChain(Symbol('client gone')), 'client gone');
  });
});
