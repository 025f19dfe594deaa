/** Hop-by-hop headers describe one connection and must never be forwarded (RFC 9110 §7.6.1). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stripHopByHop } from '../../src/core/proxy/hop-by-hop.ts';

const FIXED_HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
];

const names = (headers: Headers): string[] => [...new Set([...headers.keys()])].sort();

describe('stripHopByHop', () => {
  test('removes each fixed hop-by-hop header', () => {
    for (const name of FIXED_HOP_BY_HOP) {
      const headers = new Headers({ [name]: 'x', 'x-keep': '1' });
      stripHopByHop(headers);
      assert.deepEqual(names(headers), ['x-keep'], name);
    }
  });

  test('removes every header the Connection header names, whatever their case and spacing', () => {
    const headers = new Headers({
      connection: 'close, X-Private ,  x-Trace,,',
      'x-private': 'secret',
      'x-trace': 't',
      'x-public': 'p',
    });
    stripHopByHop(headers);
    assert.deepEqual(names(headers), ['x-public']);
  });

  test('removes an end-to-end header when Connection names it', () => {
    const headers = new Headers({ connection: 'cache-control', 'cache-control': 'no-cache', 'content-type': 'text/plain' });
    stripHopByHop(headers);
    assert.deepEqual(names(headers), ['content-type']);
  });

  test('keeps end-to-end headers, repeated Set-Cookie lines included', () => {
    const headers = new Headers([
      ['content-type', 'text/html'],
      ['authorization', 'Bearer t'],
      ['cookie', 'a=1'],
      ['cache-control', 'no-store'],
      ['set-cookie', 'a=1; Path=/'],
      ['set-cookie', 'b=2; Path=/'],
      ['connection', 'keep-alive'],
      ['keep-alive', 'timeout=5'],
    ]);
    stripHopByHop(headers);
    assert.deepEqual(names(headers), ['authorization', 'cache-control', 'content-type', 'cookie', 'set-cookie']);
    assert.deepEqual(headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/']);
  });

  test('leaves headers without any hop-by-hop field unchanged', () => {
    const headers = new Headers({ accept: '*/*', 'x-a': '1' });
    stripHopByHop(headers);
    assert.deepEqual([...headers], [
      ['accept', '*/*'],
      ['x-a', '1'],
    ]);
  });

  // A client or server controls the Connection value; a token that is not a valid header name
  // ("foo bar", "a@b", "x/y") must not make stripping throw.
  test('a Connection token that is not a valid header name is ignored instead of throwing', () => {
    for (const value of ['close, foo bar', 'x-private, a@b', 'x/y, x-private', '"x-private"']) {
      const headers = new Headers({ connection: value, 'x-private': 'secret', 'x-public': 'p' });
      assert.doesNotThrow(() => stripHopByHop(headers), `Connection: ${value}`);
      assert.equal(headers.has('connection'), false, `Connection: ${value}`);
      assert.equal(headers.get('x-public'), 'p', `Connection: ${value}`);
    }
  });

  test('valid names in a Connection header are still removed when another token in it is invalid', () => {
    const headers = new Headers({ connection: 'x-private, foo bar', 'x-private': 'secret', 'x-public': 'p' });
    try {
      stripHopByHop(headers);
    } catch {
      // Reported by the test above; here only the outcome matters.
    }
    assert.deepEqual(names(headers), ['x-public']);
  });
});
