/** REWRITE_LOCATION: redirects to a server's own origin become redirects to the client-facing origin (issue 8, defect 10). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clientOrigin, rewriteLocationHeaders, rewriteRefresh, rewriteUri } from '../../src/core/proxy/location-rewrite.ts';

const SERVER = 'http://10.0.0.1:5001';
const FRONT = 'https://shop.example';

describe('rewriteUri', () => {
  test('the server origin is replaced; path, query and fragment are kept byte for byte', () => {
    assert.equal(rewriteUri('http://10.0.0.1:5001/login?next=%2Fa%20b#top', SERVER, FRONT), 'https://shop.example/login?next=%2Fa%20b#top');
    assert.equal(rewriteUri('http://10.0.0.1:5001', SERVER, FRONT), 'https://shop.example');
    assert.equal(rewriteUri('http://10.0.0.1:5001?x=1', SERVER, FRONT), 'https://shop.example?x=1');
  });

  test('scheme and host case and an explicit default port still match the server origin', () => {
    assert.equal(rewriteUri('HTTP://10.0.0.1:5001/a', SERVER, FRONT), 'https://shop.example/a');
    assert.equal(rewriteUri('http://Backend.Internal:80/a', 'http://backend.internal', FRONT), 'https://shop.example/a');
  });

  test('other origins, other ports, other schemes, relative references and userinfo are left alone', () => {
    for (
      const value of [
        'http://10.0.0.1:5002/a',
        'https://10.0.0.1:5001/a',
        'http://10.0.0.1/a',
        'http://elsewhere.example/a',
        '/relative/path',
        '//10.0.0.1:5001/a',
        'login',
        'http://user@10.0.0.1:5001/a',
        'mailto:a@10.0.0.1',
        'http://10.0.0.1:5001.evil.example/a',
      ]
    ) {
      assert.equal(rewriteUri(value, SERVER, FRONT), value, value);
    }
  });

  test('without a client Host (HTTP/1.0) the rewrite gives an absolute path', () => {
    assert.equal(clientOrigin(false, undefined), '');
    assert.equal(rewriteUri('http://10.0.0.1:5001/a?b', SERVER, ''), '/a?b');
    assert.equal(rewriteUri('http://10.0.0.1:5001', SERVER, ''), '/');
  });
});

describe('clientOrigin', () => {
  test('the scheme comes from the TLS flag, the authority from the Host header', () => {
    assert.equal(clientOrigin(true, 'shop.example'), 'https://shop.example');
    assert.equal(clientOrigin(false, 'shop.example:8080'), 'http://shop.example:8080');
    assert.equal(clientOrigin(false, '[::1]:8080'), 'http://[::1]:8080');
  });
});

describe('rewriteRefresh', () => {
  test('the URL inside a Refresh value is rewritten, with or without quotes', () => {
    assert.equal(rewriteRefresh('5; url=http://10.0.0.1:5001/next', SERVER, FRONT), '5; url=https://shop.example/next');
    assert.equal(rewriteRefresh("0;URL='http://10.0.0.1:5001/x'", SERVER, FRONT), "0;URL='https://shop.example/x'");
    assert.equal(rewriteRefresh('5', SERVER, FRONT), '5');
    assert.equal(rewriteRefresh('5; url=http://other.example/', SERVER, FRONT), '5; url=http://other.example/');
  });
});

describe('rewriteLocationHeaders', () => {
  test('Location, Content-Location and Refresh are rewritten; other headers are not', () => {
    const h = new Headers({
      location: 'http://10.0.0.1:5001/a',
      'content-location': 'http://10.0.0.1:5001/a.json',
      refresh: '3; url=http://10.0.0.1:5001/b',
      link: '<http://10.0.0.1:5001/c>; rel=next',
    });
    rewriteLocationHeaders(h, SERVER, FRONT);
    assert.equal(h.get('location'), 'https://shop.example/a');
    assert.equal(h.get('content-location'), 'https://shop.example/a.json');
    assert.equal(h.get('refresh'), '3; url=https://shop.example/b');
    assert.equal(h.get('link'), '<http://10.0.0.1:5001/c>; rel=next');
  });

  test('a Location to another origin is left as the server sent it', () => {
    const h = new Headers({ location: 'https://login.example/sso' });
    rewriteLocationHeaders(h, SERVER, FRONT);
    assert.equal(h.get('location'), 'https://login.example/sso');
  });
});
