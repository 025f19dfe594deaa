/**
 * Conformance: a response with both Content-Length and Transfer-Encoding (RFC 9112 §6.3: Transfer-Encoding
 * wins, and a proxy must drop Content-Length before forwarding). Deno's and Bun's fetch expose both headers
 * and decode the chunked body, so Fairway drops the length; undici (Node) refuses such a response, so the
 * client gets 502. Either way the client never sees a complete-looking response cut to the stated length.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TEST_TIMEOUT_MS } from '../support/poll.ts';
import { exchange, header } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { type Fixture, rawReq, startFixture } from './fixture.ts';

const CHUNKED_BODY = 'helloworld';

for (const runtime of selectedRuntimes()) {
  describe(`response framing from the server [${runtime.name}]`, () => {
    let fx: Fixture;
    before(async () => {
      fx = await startFixture(runtime);
      // Raw bytes on the server's socket: node:http would never write both framings itself.
      fx.backend.route('/cl-and-te', (req) => {
        req.resume();
        req.socket.end(
          `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
            `${CHUNKED_BODY.length.toString(16)}\r\n${CHUNKED_BODY}\r\n0\r\n\r\n`,
        );
      });
    });
    after(async () => {
      await fx?.stop();
    });

    const refuses = runtime.name === 'node20' || runtime.name === 'node26';
    test(
      refuses
        ? 'a response with Content-Length and Transfer-Encoding gets 502 (undici refuses it)'
        : 'a response with Content-Length and Transfer-Encoding reaches the client whole, without the Content-Length',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const res = await exchange(fx.proxy.port, rawReq('GET', '/cl-and-te', { close: true }));
        if (refuses) {
          assert.equal(res.status, 502, res.statusLine);
          return;
        }
        assert.equal(res.status, 200, res.statusLine);
        assert.notEqual(header(res, 'content-length'), '5', `the stated length was relayed: ${JSON.stringify(res.headerLines)}`);
        assert.equal(res.complete, true);
        assert.equal(res.body.toString(), CHUNKED_BODY);
      },
    );
  });
}
