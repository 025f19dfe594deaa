/**
 * Conformance: HTTP/1.1 pipelining (RFC 9112 §9.3). Two requests in one write get two responses, in order,
 * on the same connection; on Bun the documented limit (runtime-limits: noPipelining) is pinned instead,
 * so the table goes stale the day Bun fixes it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TEST_TIMEOUT_MS } from '../support/poll.ts';
import { NoResponseError, RawConnection } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { type Fixture, rawReq, startFixture } from './fixture.ts';
import { limit } from './runtime-limits.ts';

for (const runtime of selectedRuntimes()) {
  describe(`pipelining [${runtime.name}]`, () => {
    let fx: Fixture;
    before(async () => {
      fx = await startFixture(runtime);
    });
    after(async () => {
      await fx?.stop();
    });

    const noPipelining = limit(runtime, 'noPipelining');
    test(
      noPipelining
        ? `two GETs in one write: the connection is closed without both answers (${noPipelining})`
        : 'two GETs in one write get two responses, in order',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const conn = await RawConnection.open(fx.proxy.port);
        try {
          await conn.write(Buffer.concat([rawReq('GET', '/first'), rawReq('GET', '/second')]));
          const statuses: string[] = [];
          const bodies: string[] = [];
          for (let i = 0; i < 2; i++) {
            try {
              const res = await conn.readResponse({ timeoutMs: 5000 });
              statuses.push(res.statusLine);
              bodies.push(res.body.toString());
            } catch (e) {
              if (!(e instanceof NoResponseError)) throw e;
              break;
            }
          }
          if (noPipelining) {
            assert.ok(
              statuses.length < 2,
              `Bun answered both pipelined requests (${statuses.join(' | ')}): remove noPipelining from runtime-limits.ts and the README`,
            );
            assert.equal(await conn.waitClose(5000), true, 'the connection stays open');
          } else {
            assert.equal(statuses.length, 2, `responses: ${statuses.join(' | ')}`);
            assert.deepEqual(
              bodies.map((b) => (JSON.parse(b) as { url: string }).url),
              ['/first', '/second'],
            );
          }
        } finally {
          conn.destroy();
        }
      },
    );
  });
}
