/** Where a request goes upstream, and which paths are the balancer's own. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isAdminPath, pathAndQuery, upstreamUrl } from '../../src/core/request-target.ts';

describe('pathAndQuery', () => {
  test('keeps encoded slashes, empty segments and encoded query bytes exactly as received', () => {
    assert.equal(pathAndQuery('http://proxy.example/a%2Fb//c?x=%20'), '/a%2Fb//c?x=%20');
  });

  test('is "/" for the root, with or without an empty query', () => {
    assert.equal(pathAndQuery('http://proxy.example/'), '/');
    assert.equal(pathAndQuery('http://proxy.example/?'), '/?');
    assert.equal(pathAndQuery('http://proxy.example'), '/');
  });

  test('drops the fragment but keeps everything before it', () => {
    assert.equal(pathAndQuery('http://h.example/p?q=1#frag'), '/p?q=1');
    assert.equal(pathAndQuery('http://h.example/p#a?b'), '/p');
  });

  test('skips the authority, including ports, IPv6 literals and user info', () => {
    assert.equal(pathAndQuery('http://[::1]:8080/p?q'), '/p?q');
    assert.equal(pathAndQuery('https://user:pw@h.example:443/x/y'), '/x/y');
  });

  test('a URL inside the query does not move where the path starts', () => {
    assert.equal(pathAndQuery('http://h.example/go?to=http://other.example/z'), '/go?to=http://other.example/z');
  });

  test('takes the path from the URL a Request serialises (percent-encoding as the runtime applied it)', () => {
    assert.equal(pathAndQuery(new Request('http://h.example/a b?é').url), '/a%20b?%C3%A9');
  });
});

describe('upstreamUrl', () => {
  test('is the server origin followed by the request path and query', () => {
    assert.equal(upstreamUrl('http://127.0.0.1:1', 'http://proxy.example/a%2Fb//c?x=%20'), 'http://127.0.0.1:1/a%2Fb//c?x=%20');
  });

  test('an absolute-form target naming another host still goes to the server origin', () => {
    assert.equal(upstreamUrl('http://10.0.0.1:5001', 'http://evil.example/steal?x=1'), 'http://10.0.0.1:5001/steal?x=1');
  });

  test('a path that looks like an authority ("//evil.example/x") stays a path on the server', () => {
    const url = upstreamUrl('http://10.0.0.1:5001', new Request('http://proxy.example//evil.example/x').url);
    assert.equal(url, 'http://10.0.0.1:5001//evil.example/x');
    assert.equal(new URL(url).host, '10.0.0.1:5001');
    assert.equal(new URL(url).pathname, '//evil.example/x');
  });

  test('a request for the root maps to the origin plus "/"', () => {
    assert.equal(upstreamUrl('https://backend.example', 'http://proxy.example/'), 'https://backend.example/');
  });
});

describe('isAdminPath', () => {
  test('is true for /lb itself and everything below /lb/', () => {
    for (const url of ['http://h/lb', 'http://h/lb/', 'http://h/lb/stats', 'http://h/lb/x/y', 'http://h/lb?x=1', 'http://h/lb#top', 'http://[::1]:80/lb/ready']) {
      assert.equal(isAdminPath(url), true, url);
    }
  });

  test('is false for paths that only start with the letters "lb"', () => {
    for (const url of ['http://h/lbx', 'http://h/lb-stats', 'http://h/lb.json', 'http://h/lb%2Fstats']) {
      assert.equal(isAdminPath(url), false, url);
    }
  });

  test('is false when /lb appears elsewhere than at the start of the path', () => {
    for (const url of ['http://h/', 'http://h/api/lb/stats', 'http://h/x?/lb', 'http://h/x#/lb', 'http://lb/x', 'http://lb', 'http://h/LB/stats']) {
      assert.equal(isAdminPath(url), false, url);
    }
  });
});
