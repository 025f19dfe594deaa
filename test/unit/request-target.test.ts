/** Where a request goes upstream, and which paths are the balancer's own. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isAdminTarget, requestTarget, targetFromRequestLine, upstreamUrl } from '../../src/core/proxy/request-target.ts';

const isAdminPath = (url: string) => isAdminTarget(requestTarget(url));

describe('requestTarget', () => {
  test('keeps encoded slashes, empty segments and encoded query bytes exactly as received', () => {
    assert.equal(requestTarget('http://proxy.example/a%2Fb//c?x=%20'), '/a%2Fb//c?x=%20');
  });

  test('is "/" for the root, with or without an empty query', () => {
    assert.equal(requestTarget('http://proxy.example/'), '/');
    assert.equal(requestTarget('http://proxy.example/?'), '/?');
    assert.equal(requestTarget('http://proxy.example'), '/');
  });

  test('drops the fragment but keeps everything before it', () => {
    assert.equal(requestTarget('http://h.example/p?q=1#frag'), '/p?q=1');
    assert.equal(requestTarget('http://h.example/p#a?b'), '/p');
  });

  test('skips the authority, including ports, IPv6 literals and user info', () => {
    assert.equal(requestTarget('http://[::1]:8080/p?q'), '/p?q');
    assert.equal(requestTarget('https://user:pw@h.example:443/x/y'), '/x/y');
  });

  test('a URL inside the query does not move where the path starts', () => {
    assert.equal(requestTarget('http://h.example/go?to=http://other.example/z'), '/go?to=http://other.example/z');
  });

  test('takes the path from the URL a Request serialises (percent-encoding as the runtime applied it)', () => {
    assert.equal(requestTarget(new Request('http://h.example/a b?é').url), '/a%20b?%C3%A9');
  });
});

describe('upstreamUrl', () => {
  test('is the server origin followed by the request path and query', () => {
    assert.equal(upstreamUrl('http://127.0.0.1:1', requestTarget('http://proxy.example/a%2Fb//c?x=%20')), 'http://127.0.0.1:1/a%2Fb//c?x=%20');
  });

  test('an absolute-form target naming another host still goes to the server origin', () => {
    assert.equal(upstreamUrl('http://10.0.0.1:5001', requestTarget('http://evil.example/steal?x=1')), 'http://10.0.0.1:5001/steal?x=1');
  });

  test('a path that looks like an authority ("//evil.example/x") stays a path on the server', () => {
    const url = upstreamUrl('http://10.0.0.1:5001', requestTarget(new Request('http://proxy.example//evil.example/x').url));
    assert.equal(url, 'http://10.0.0.1:5001//evil.example/x');
    assert.equal(new URL(url).host, '10.0.0.1:5001');
    assert.equal(new URL(url).pathname, '//evil.example/x');
  });

  test('a request for the root maps to the origin plus "/"', () => {
    assert.equal(upstreamUrl('https://backend.example', requestTarget('http://proxy.example/')), 'https://backend.example/');
  });
});

describe('isAdminPath', () => {
  test('is true for /lb itself and everything below /lb/', () => {
    for (
      const url of ['http://h/lb', 'http://h/lb/', 'http://h/lb/stats', 'http://h/lb/x/y', 'http://h/lb?x=1', 'http://h/lb#top', 'http://[::1]:80/lb/ready']
    ) {
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

describe('dot segments', () => {
  test('are resolved the same way whatever the runtime left in the URL, never above the root', () => {
    assert.equal(requestTarget('http://h/a/./b/../c'), '/a/c');
    assert.equal(requestTarget('http://h/../../etc/passwd'), '/etc/passwd');
    assert.equal(requestTarget('http://h/a/%2e%2E/b'), '/b');
    assert.equal(requestTarget('http://h/a/..'), '/');
  });

  test('leave everything else byte for byte, and dots inside the query alone', () => {
    assert.equal(requestTarget('http://h/a/../b//c%2Fd?x=/../y'), '/b//c%2Fd?x=/../y');
    assert.equal(requestTarget('http://h/a.b/.c/..d?q=..'), '/a.b/.c/..d?q=..');
  });

  test('cannot turn a path into another authority', () => {
    assert.equal(requestTarget('http://h/..//evil.example/x'), '//evil.example/x');
    assert.equal(new URL(upstreamUrl('http://10.0.0.1:1', requestTarget('http://h/..//evil.example/x'))).host, '10.0.0.1:1');
  });

  test('reaching /lb/ through dot segments is an admin path, and leaving it is not', () => {
    assert.equal(isAdminTarget(requestTarget('http://h/x/../lb/stats')), true);
    assert.equal(isAdminTarget(requestTarget('http://h/lb/../x')), false);
  });
});

describe('targetFromRequestLine (node:http raw targets)', () => {
  test('gives the same target a URL-parsing runtime would, byte for byte where the target is already valid', () => {
    for (const raw of ['/a%2Fb//c?x=%20&y=1', '/p;q=1', '/a?b=c?d', '//evil/path', '/http://evil/x', '/%7E%41']) {
      assert.equal(targetFromRequestLine(raw), requestTarget(new Request(`http://h${raw}`).url), raw);
      assert.equal(targetFromRequestLine(raw), raw, raw);
    }
  });

  test('percent-encodes what a URL parser would, so every runtime sends the same bytes', () => {
    assert.equal(targetFromRequestLine('/{x}|"y'), '/%7Bx%7D|%22y');
    assert.equal(targetFromRequestLine("/a?b='c'"), '/a?b=%27c%27');
  });

  test('keeps only the path and query of an absolute-form target', () => {
    assert.equal(targetFromRequestLine('http://evil.example/x?y'), '/x?y');
    assert.equal(targetFromRequestLine('http://evil.example'), '/');
    assert.equal(targetFromRequestLine('http://evil.example?q=1'), '/?q=1');
  });

  test('resolves dot segments and is undefined for targets that name no path', () => {
    assert.equal(targetFromRequestLine('/a/./b/../c'), '/a/c');
    assert.equal(targetFromRequestLine('/../../etc/passwd'), '/etc/passwd');
    assert.equal(targetFromRequestLine('*'), undefined);
    assert.equal(targetFromRequestLine('example.com:443'), undefined);
  });
});
