/** HTTP_REDIRECT_PORT answers plain HTTP with a 308 to the HTTPS URL (RFC 9110 §15.4.9). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpsRedirect } from '../../src/core/proxy/https-redirect.ts';

describe('httpsRedirect', () => {
  test('308 to the same host, path and query on the HTTPS port', () => {
    const response = httpsRedirect('shop.example:8080', '/cart?item=%2F1', 8443);
    assert.equal(response.status, 308);
    assert.equal(response.headers.get('location'), 'https://shop.example:8443/cart?item=%2F1');
  });

  test('port 443 is left out of the Location', () => {
    assert.equal(httpsRedirect('shop.example', '/', 443).headers.get('location'), 'https://shop.example/');
  });

  test('IPv6 and IPv4 literals keep their form', () => {
    assert.equal(httpsRedirect('[::1]:8080', '/a', 8443).headers.get('location'), 'https://[::1]:8443/a');
    assert.equal(httpsRedirect('127.0.0.1:8080', '/a', 8443).headers.get('location'), 'https://127.0.0.1:8443/a');
  });

  test('a missing or malformed Host gets 400, never a Location built from it', async () => {
    for (const host of [null, '', 'evil.example/path', 'a b', 'user@evil.example', 'evil.example\r\nx: y']) {
      const response = httpsRedirect(host, '/', 8443);
      assert.equal(response.status, 400, String(host));
      assert.equal(response.headers.get('location'), null);
      assert.match(await response.text(), /valid Host header/);
    }
  });
});
