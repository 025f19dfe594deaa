/**
 * Conformance: spoofable forwarding headers (issue 8, defect 7). With TRUST_PROXY=false (the default) the
 * server receives no forwarding header the client sent, whatever its spelling (`_` for `-`, any case), only
 * the X-Forwarded-For, -Proto and -Host that Fairway sets from what it saw.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TEST_TIMEOUT_MS } from '../support/poll.ts';
import { exchange, jsonBody } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { type Fixture, rawReq, startFixture } from './fixture.ts';

const SPOOFED: [string, string][] = [
  ['X-Forwarded-For', '6.6.6.6'],
  ['X-Forwarded-Port', '1'],
  ['X-Forwarded-Prefix', '/admin'],
  ['X-Forwarded-Server', 'evil'],
  ['X-Forwarded-Proto', 'https'],
  ['X-Real-IP', '6.6.6.6'],
  ['X_Forwarded_For', '6.6.6.6'],
  ['x_real_ip', '6.6.6.6'],
  ['Forwarded', 'for=6.6.6.6'],
];

const isForwarding = (name: string) => {
  const n = name.toLowerCase().replaceAll('_', '-');
  return n === 'forwarded' || n === 'x-real-ip' || n.startsWith('x-forwarded-');
};

for (const runtime of selectedRuntimes()) {
  describe(`spoofed forwarding headers [${runtime.name}]`, () => {
    let fx: Fixture;
    before(async () => {
      fx = await startFixture(runtime);
    });
    after(async () => {
      await fx?.stop();
    });

    test('without TRUST_PROXY the server gets only the X-Forwarded-For, -Proto and -Host Fairway set', { timeout: TEST_TIMEOUT_MS }, async () => {
      const res = await exchange(fx.proxy.port, rawReq('GET', '/spoof', { host: 'front.example', headers: SPOOFED, close: true }));
      assert.equal(res.status, 200, res.statusLine);
      const { rawHeaders } = jsonBody<{ rawHeaders: string[] }>(res);
      const forwarding: string[] = [];
      for (let i = 0; i < rawHeaders.length; i += 2) if (isForwarding(rawHeaders[i]!)) forwarding.push(`${rawHeaders[i]!.toLowerCase()}: ${rawHeaders[i + 1]}`);
      assert.deepEqual(forwarding.sort(), ['x-forwarded-for: 127.0.0.1', 'x-forwarded-host: front.example', 'x-forwarded-proto: http']);
    });
  });
}
