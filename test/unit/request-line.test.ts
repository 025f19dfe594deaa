/** Request-line version and Content-Length checks at admission (issue 8, defects 1 and 11). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidContentLength, unsupportedVersion } from '../../src/core/proxy/request-line.ts';

const headers = (value: string | null) => ({ get: (name: string) => (name === 'content-length' ? value : null) }) as Parameters<typeof invalidContentLength>[0];

describe('request line version', () => {
  test('HTTP/1.1, HTTP/1.0 and an unknown version (runtimes that do not say) pass', () => {
    for (const v of ['1.1', '1.0', undefined]) assert.equal(unsupportedVersion(v), undefined);
  });
  test('HTTP/2.0 in a text request line gets 505; HTTP/0.9 or no version 400', () => {
    assert.equal(unsupportedVersion('2.0')?.status, 505);
    assert.equal(unsupportedVersion('0.9')?.status, 400);
    assert.equal(unsupportedVersion('')?.status, 400);
  });
});

describe('Content-Length at admission (RFC 9112 §6.3)', () => {
  test('absent or one whole number passes', () => {
    for (const v of [null, '0', '5', ' 12 ']) assert.equal(invalidContentLength(headers(v)), undefined, String(v));
  });
  test('a list, a sign, a fraction or text gets a reason (Bun\'s fetch throws on "5, 5")', () => {
    for (const v of ['5, 5', '5,5', '-1', '+5', '1.5', 'abc', '']) assert.match(invalidContentLength(headers(v)) ?? '', /Content-Length/, v);
  });
});
