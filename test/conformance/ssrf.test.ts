/**
 * Conformance: SSRF canaries over raw sockets. A second listener on loopback stands for any host an open
 * proxy could be steered to; whatever each request carries (an absolute-form target, `//host`, userinfo,
 * a backslash, X-Forwarded-Host, X-Original-URL), the proxy must never connect to it, and what reaches
 * the configured server must be the request's own path, never one taken from a header.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TEST_TIMEOUT_MS } from '../support/poll.ts';
import { type MalformedOutcome, sendMalformed } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { ConnectionCounter } from '../support/scripted-backend.ts';
import { type Fixture, rawReq, startFixture } from './fixture.ts';

const describeOutcome = (o: MalformedOutcome) =>
  o.kind === 'response'
    ? `${o.res.statusLine} ${o.res.body.toString().slice(0, 120)}`
    : `${o.kind} ${JSON.stringify(o.received.toString('latin1').slice(0, 100))}`;

for (const runtime of selectedRuntimes()) {
  describe(`SSRF canaries [${runtime.name}]`, () => {
    let fx: Fixture;
    let evil: ConnectionCounter;
    before(async () => {
      evil = await new ConnectionCounter().listen();
      fx = await startFixture(runtime);
    });
    after(async () => {
      await fx?.stop();
      await evil?.close();
    });

    /**
     * Sends one request and asserts the one outcome every canary shares: no connection to the other host,
     * and every request the configured server received for it has a path from `allowed` (the runtime may
     * also refuse the request, in which case the server receives nothing).
     */
    async function assertContained(what: string, target: string, headers: [string, string][], allowed: string[]): Promise<void> {
      const before = fx.backend.requests.length;
      const connectionsBefore = evil.connections;
      const outcome = await sendMalformed(fx.proxy.port, rawReq('GET', target, { headers, close: true }), 5000);
      const seen = fx.backend.requests.slice(before).map((r) => r.url);
      assert.equal(evil.connections, connectionsBefore, `${what}: the proxy connected to the other host ${evil.host} (answer: ${describeOutcome(outcome)})`);
      for (const url of seen) assert.ok(allowed.includes(url), `${what}: the server received ${url}, expected one of ${allowed.join(', ')}`);
    }

    test('an absolute-form target naming another host never reaches it', { timeout: TEST_TIMEOUT_MS }, async () => {
      await assertContained('absolute-form', `http://${evil.host}/x?y=1`, [], ['/x?y=1']);
    });

    test('a target starting with "//host" never reaches that host', { timeout: TEST_TIMEOUT_MS }, async () => {
      // Bun.serve collapses the leading slashes (runtime-limits: doubleSlashTarget).
      await assertContained('//host', `//${evil.host}/path`, [], [`//${evil.host}/path`, `/${evil.host}/path`]);
    });

    test('userinfo in an absolute-form target ("http://user@host/") never reaches that host', { timeout: TEST_TIMEOUT_MS }, async () => {
      await assertContained('userinfo', `http://user:pw@${evil.host}/u`, [], ['/u']);
    });

    test('userinfo in the Host header ("Host: x@host") never reaches that host', { timeout: TEST_TIMEOUT_MS }, async () => {
      // The path may still be mangled on Bun today (issue 8, defect 2), but never sent anywhere but the configured server.
      await assertContained('Host userinfo', '/h', [['Host', `x@${evil.host}`]], ['/h', '/']);
    });

    test('a backslash target ("/\\host") never reaches that host', { timeout: TEST_TIMEOUT_MS }, async () => {
      // Node refuses a raw backslash (400); Deno and Bun read it as "/", as a WHATWG URL parser does.
      await assertContained('backslash', `/\\${evil.host}/b`, [], [`//${evil.host}/b`, `/${evil.host}/b`]);
    });

    test('X-Forwarded-Host naming another host changes neither where the request goes nor its path', { timeout: TEST_TIMEOUT_MS }, async () => {
      await assertContained('X-Forwarded-Host', '/xfh', [['X-Forwarded-Host', evil.host]], ['/xfh']);
    });

    test('X-Original-URL and X-Rewrite-URL change neither where the request goes nor its path', { timeout: TEST_TIMEOUT_MS }, async () => {
      await assertContained(
        'X-Original-URL',
        '/public',
        [
          ['X-Original-URL', `http://${evil.host}/admin`],
          ['X-Rewrite-URL', '/admin'],
        ],
        ['/public'],
      );
    });
  });
}
