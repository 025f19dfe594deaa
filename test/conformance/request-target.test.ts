/**
 * Conformance: request targets over raw sockets. What the server receives for exact, dot-segment and odd
 * targets, and that no target (absolute-form, authority-form, `//host`, `/\host`, `@host`, Host header)
 * or method (CONNECT) makes the proxy connect anywhere but the configured backend: a second "evil"
 * listener on loopback must see no connection at all.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { request } from '../support/http.ts';
import { TEST_TIMEOUT_MS } from '../support/poll.ts';
import { type MalformedOutcome, sendMalformed } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { ConnectionCounter } from '../support/scripted-backend.ts';
import { type Fixture, rawReq, startFixture } from './fixture.ts';
import { limit } from './runtime-limits.ts';

/** Valid origin-form targets that every runtime must deliver byte for byte. */
const EXACT = ['/a%2Fb//c?x=%20&y=%2F&z', '/%7E%41', '/p;q=1', '/a?b=c?d', '/x@evil.example', '/http://evil.example/x'];

/** Dot segments: resolved identically on every runtime, never above the root. */
const DOT_SEGMENTS: [string, string][] = [
  ['/a/./b/../c', '/a/c'],
  ['/../../etc/passwd', '/etc/passwd'],
  ['/a/b/../../../../etc/passwd?q=1', '/etc/passwd?q=1'],
  ['/a/%2e%2e/b', '/b'],
];

const describeOutcome = (o: MalformedOutcome) =>
  o.kind === 'response'
    ? `${o.res.statusLine} ${o.res.body.toString().slice(0, 200)}`
    : `${o.kind} ${JSON.stringify(o.received.toString('latin1').slice(0, 100))}`;

for (const runtime of selectedRuntimes()) {
  describe(`request targets [${runtime.name}]`, () => {
    let fx: Fixture;
    let evil: ConnectionCounter;

    before(async () => {
      evil = await new ConnectionCounter().listen();
      // Probes far apart: a passive failure caused by a test stays visible in /lb/ready instead of healing in 100 ms.
      fx = await startFixture(runtime, { HEALTH_CHECK_INTERVAL_MS: '60000' });
    });
    after(async () => {
      await fx?.stop();
      await evil?.close();
    });

    /** Sends `target` and returns the outcome and the targets the backend received for it. */
    async function send(method: string, target: string, headers: [string, string][] = []) {
      const before = fx.backend.requests.length;
      const outcome = await sendMalformed(fx.proxy.port, rawReq(method, target, { headers, close: true }), 5000);
      return { outcome, seen: fx.backend.requests.slice(before).map((r) => r.url) };
    }

    /** The proxy answered 200 after the backend got exactly `expected`. */
    function assertForwarded(target: string, r: Awaited<ReturnType<typeof send>>, expected: string) {
      assert.equal(r.outcome.kind === 'response' && r.outcome.res.status, 200, `${JSON.stringify(target)}: ${describeOutcome(r.outcome)}`);
      assert.deepEqual(r.seen, [expected], `${JSON.stringify(target)}: target as received by the server`);
    }

    /** The runtime refused the target with a 4xx (or closed), and nothing reached the backend. */
    function assertRefused(target: string, r: Awaited<ReturnType<typeof send>>) {
      if (r.outcome.kind === 'response') {
        assert.ok(r.outcome.res.status >= 400 && r.outcome.res.status < 500, `${JSON.stringify(target)}: expected a 4xx, got ${describeOutcome(r.outcome)}`);
      } else {
        assert.equal(r.outcome.kind, 'closed', `${JSON.stringify(target)}: no answer and the connection left open`);
      }
      assert.deepEqual(r.seen, [], `${JSON.stringify(target)} reached the server`);
    }

    const assertNoEvil = (what: string) => assert.equal(evil.connections, 0, `${what}: the proxy connected to the other host ${evil.host}`);

    test('valid targets reach the server byte for byte (encoded slashes, empty segments, ; params, ? in the query)', { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const target of EXACT) assertForwarded(target, await send('GET', target), target);
    });

    test('dot segments resolve the same on every runtime, never above the root', { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const [target, expected] of DOT_SEGMENTS) {
        const r = await send('GET', target);
        assertForwarded(target, r, expected);
        assert.ok(!r.seen[0]!.split('?')[0]!.split('/').includes('..'), `${target}: ".." reached the server`);
      }
    });

    test('an absolute-form target naming another host reaches only the configured server, with its path', { timeout: TEST_TIMEOUT_MS }, async () => {
      assertForwarded('absolute-form', await send('GET', `http://${evil.host}/x?y=1`), '/x?y=1');
      assertForwarded('absolute-form with userinfo', await send('GET', `http://user:pw@${evil.host}/u`), '/u');
      assertForwarded('absolute-form https', await send('GET', `https://${evil.host}/s`), '/s');
      assertNoEvil('absolute-form');
    });

    test('a Host header naming another host changes nothing about where the request goes', { timeout: TEST_TIMEOUT_MS }, async () => {
      assertForwarded('Host: evil', await send('GET', '/h', [['Host', evil.host]]), '/h');
      assertNoEvil('Host header');
    });

    const collapses = limit(runtime, 'doubleSlashTarget');
    test(
      collapses
        ? `a target starting with "//host" reaches only the configured server (${collapses})`
        : 'a target starting with "//host" reaches only the configured server, unchanged',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const target = `//${evil.host}/path`;
        assertForwarded(target, await send('GET', target), collapses ? `/${evil.host}/path` : target);
        assertNoEvil(target);
      },
    );

    test(
      collapses
        ? `a raw backslash target ("/\\host") reaches only the configured server, "\\" read as "/" as a WHATWG URL parser does (${collapses})`
        : 'a raw backslash target ("/\\host") reaches only the configured server, "\\" read as "/" as a WHATWG URL parser does',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const target = `/\\${evil.host}/b`;
        assertForwarded(target, await send('GET', target), collapses ? `/${evil.host}/b` : `//${evil.host}/b`);
        assertNoEvil(target);
      },
    );

    test('"@host", authority-form and "*" targets on GET are refused with a 4xx and reach nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const target of [`@${evil.host}/x`, evil.host, '*']) assertRefused(target, await send('GET', target));
      assertNoEvil('@host / authority-form');
    });

    const nonAscii = limit(runtime, 'nonAsciiTarget');
    test(
      nonAscii
        ? `a target with raw non-ASCII bytes reaches the server percent-encoded (${nonAscii})`
        : 'a target with raw non-ASCII bytes is refused with a 4xx',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const target = Buffer.from('/caf\u00e9?q=\u00e9', 'utf8').toString('latin1');
        const r = await send('GET', target);
        if (nonAscii) assertForwarded('non-ASCII', r, '/caf%C3%A9?q=%C3%A9');
        else assertRefused('non-ASCII', r);
      },
    );
  });

  // A fresh proxy per test, with probes far apart: a passive failure caused by one request stays visible
  // in /lb/ready (instead of healing at the next probe) and cannot spill into the next test.
  describe(`methods that open tunnels or that fetch refuses [${runtime.name}]`, () => {
    let mx: Fixture;
    let evil: ConnectionCounter;
    beforeEach(async () => {
      evil = await new ConnectionCounter().listen();
      mx = await startFixture(runtime, { HEALTH_CHECK_INTERVAL_MS: '60000' });
    });
    afterEach(async () => {
      await mx?.stop();
      await evil?.close();
    });
    async function send(method: string, target: string, headers: [string, string][] = []) {
      const before = mx.backend.requests.length;
      const outcome = await sendMalformed(mx.proxy.port, rawReq(method, target, { headers, close: true }), 5000);
      return { outcome, seen: mx.backend.requests.slice(before).map((r) => r.url) };
    }
    const assertNoEvil = (what: string) => assert.equal(evil.connections, 0, `${what}: the proxy connected to the other host ${evil.host}`);

    test('CONNECT is never tunnelled anywhere, and does not take the server out of rotation', { timeout: TEST_TIMEOUT_MS }, async () => {
      const r = await send('CONNECT', evil.host, [['Host', evil.host]]);
      if (limit(runtime, 'connectClosed')) {
        assert.equal(r.outcome.kind, 'closed', `CONNECT: ${describeOutcome(r.outcome)}, but ${limit(runtime, 'connectClosed')}`);
      } else assert.equal(r.outcome.kind === 'response' && r.outcome.res.status, 405, `CONNECT answered ${describeOutcome(r.outcome)}`);
      assert.deepEqual(r.seen, [], 'CONNECT reached the server');
      assertNoEvil('CONNECT');
      const ready = await request(`${mx.proxy.url}/lb/ready`);
      assert.equal(ready.status, 200, `after a client's CONNECT the only server is out of rotation: /lb/ready ${ready.status} ${ready.text()}`);
      const next = await request(`${mx.proxy.url}/after-connect`);
      assert.equal(next.status, 200, `the next request got ${next.status} ${next.text().slice(0, 200)}`);
    });

    // TRACK is IIS's TRACE; the HTTP parsers of Node and Bun do not know it and refuse it themselves, each in
    // the way runtime-limits.ts names (Node with 400, Bun by closing the connection); elsewhere Fairway's 405.
    for (const method of ['TRACE', 'TRACK']) {
      test(`${method} is refused (405 from Fairway, or the runtime's parser) before any server is chosen, which stays in rotation`, {
        timeout: TEST_TIMEOUT_MS,
      }, async () => {
        const r = await send(method, '/trace');
        assert.deepEqual(r.seen, []);
        const status = r.outcome.kind === 'response' ? r.outcome.res.status : undefined;
        const by400 = method === 'TRACK' ? limit(runtime, 'unknownMethod400') : undefined;
        const byClose = method === 'TRACK' ? limit(runtime, 'unknownMethodClosed') : undefined;
        if (by400) assert.equal(status, 400, `${describeOutcome(r.outcome)}, but ${by400}`);
        else if (byClose) assert.equal(r.outcome.kind, 'closed', `${describeOutcome(r.outcome)}, but ${byClose}`);
        else assert.equal(status, 405, describeOutcome(r.outcome));
        const ready = await request(`${mx.proxy.url}/lb/ready`);
        assert.equal(ready.status, 200, `after a client's ${method} the only server is out of rotation: /lb/ready ${ready.status} ${ready.text()}`);
      });
    }
  });
}
