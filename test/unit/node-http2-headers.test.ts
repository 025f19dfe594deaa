/** HTTP/2 requests on Node's native path get the headers the HTTP/1.1 rules expect (RFC 9113 §8.3.1). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { http1HeadersOf } from '../../src/runtimes/node/http2-headers.ts';

describe('http1HeadersOf', () => {
  test('drops pseudo-headers and takes Host from :authority', () => {
    const headers = http1HeadersOf({
      ':method': 'GET',
      ':path': '/x?y=1',
      ':scheme': 'https',
      ':authority': 'shop.example:8443',
      'user-agent': 'curl',
      cookie: ['a=1', 'b=2'],
    });
    assert.deepEqual(headers, { 'user-agent': 'curl', cookie: ['a=1', 'b=2'], host: 'shop.example:8443' });
  });

  test('keeps a Host header the client sent as well', () => {
    assert.equal(http1HeadersOf({ ':authority': 'a.example', host: 'b.example' }).host, 'b.example');
  });

  test('leaves HTTP/1.1 headers unchanged', () => {
    assert.deepEqual(http1HeadersOf({ host: 'a.example', accept: '*/*' }), { host: 'a.example', accept: '*/*' });
  });
});
