/**
 * Conformance: request smuggling canaries over raw sockets (CL.TE, TE.CL, obfuscated Transfer-Encoding,
 * duplicate Content-Length). Each request hides a second request, `GET /smuggled`, exactly where a
 * front end and a back end that disagree about the framing would see it as a request of its own
 * (RFC 9112 §6.1, §6.3, §11.2). Whatever the runtime answers (400, a response, a close), that request must
 * never reach the server: Fairway re-frames every request it forwards, and the runtimes must either refuse
 * the ambiguity or close the connection after it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TEST_TIMEOUT_MS } from '../support/poll.ts';
import { NoResponseError, RawConnection } from '../support/raw-http.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { type Fixture, startFixture } from './fixture.ts';

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: conformance.test\r\n\r\n';
/** A chunked body whose only chunk is the smuggled request, then the last chunk. */
const CHUNKED_SMUGGLE = `${Buffer.byteLength(SMUGGLED).toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
/** An empty chunked body followed by the smuggled request: what a reader of Content-Length takes as one body. */
const EMPTY_CHUNKED_THEN_SMUGGLE = `0\r\n\r\n${SMUGGLED}`;

const head = (lines: string[]) => `POST /front HTTP/1.1\r\nHost: conformance.test\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;

/** Each case: the exact bytes, and what a desynchronised reader would do with them. */
const CASES: [name: string, bytes: string][] = [
  // CL.TE: a reader of Transfer-Encoding ends the body at the last chunk and reads the rest as a new request.
  [
    'CL.TE: Content-Length covering the whole body and Transfer-Encoding: chunked',
    head([`Content-Length: ${EMPTY_CHUNKED_THEN_SMUGGLE.length}`, 'Transfer-Encoding: chunked']) + EMPTY_CHUNKED_THEN_SMUGGLE,
  ],
  // TE.CL: a reader of Content-Length takes 4 bytes ("2f\r\n") and reads the chunk data as a new request.
  ['TE.CL: Transfer-Encoding: chunked and a Content-Length of 4', head(['Transfer-Encoding: chunked', 'Content-Length: 4']) + CHUNKED_SMUGGLE],
  ...(
    [
      ['Transfer-Encoding: xchunked', ['Transfer-Encoding: xchunked']],
      ['a space before the colon ("Transfer-Encoding : chunked")', ['Transfer-Encoding : chunked']],
      ['a tab before the value', ['Transfer-Encoding:\tchunked']],
      ['chunked, then a second Transfer-Encoding line naming another coding', ['Transfer-Encoding: chunked', 'Transfer-Encoding: x']],
      ['chunked not last ("chunked, identity")', ['Transfer-Encoding: chunked, identity']],
      ['upper case ("CHUNKED")', ['Transfer-Encoding: CHUNKED']],
      ['a folded line (obs-fold) carrying chunked', ['X-Fold: a', ' Transfer-Encoding: chunked']],
      ['a vertical tab after the value', ['Transfer-Encoding: chunked\x0b']],
    ] as [string, string[]][]
  ).map(([name, te]): [string, string] => [
    `obfuscated TE (${name}) with a Content-Length covering the whole body`,
    head([...te, `Content-Length: ${EMPTY_CHUNKED_THEN_SMUGGLE.length}`]) + EMPTY_CHUNKED_THEN_SMUGGLE,
  ]),
  // Duplicate CL: a reader of the first (0) reads the body as a new request; RFC 9112 §6.3 makes differing values an error.
  [
    'duplicate Content-Length lines with different values (0, then the body length)',
    head(['Content-Length: 0', `Content-Length: ${SMUGGLED.length}`]) + SMUGGLED,
  ],
  [
    'duplicate Content-Length lines with different values (the body length, then 0)',
    head([`Content-Length: ${SMUGGLED.length}`, 'Content-Length: 0']) + SMUGGLED,
  ],
  ['one Content-Length line listing different values ("0, N")', head([`Content-Length: 0, ${SMUGGLED.length}`]) + SMUGGLED],
];

for (const runtime of selectedRuntimes()) {
  describe(`request smuggling [${runtime.name}]`, () => {
    let fx: Fixture;
    before(async () => {
      fx = await startFixture(runtime);
    });
    after(async () => {
      await fx?.stop();
    });

    /**
     * Sends `bytes` on a fresh connection and waits until the proxy has finished with it: it closed the
     * connection, or answered and then sent nothing more for a moment (a smuggled request handled as a
     * pipelined one would have produced a second response by then).
     */
    async function attack(bytes: string): Promise<string> {
      const conn = await RawConnection.open(fx.proxy.port);
      try {
        await conn.write(bytes);
        let answer = 'closed without a response';
        try {
          answer = (await conn.readResponse({ timeoutMs: 5000 })).statusLine;
        } catch (e) {
          if (!(e instanceof NoResponseError)) throw e;
          if (!conn.closed) answer = 'no answer within 5 s';
        }
        if (!conn.closed) await conn.waitFor((pending) => pending.length > 0, 1000, 'a second response').catch(() => undefined);
        return answer;
      } finally {
        conn.destroy();
      }
    }

    for (const [name, bytes] of CASES) {
      test(`${name}: the hidden request never reaches the server`, { timeout: TEST_TIMEOUT_MS }, async () => {
        const before = fx.backend.requests.length;
        const answer = await attack(bytes);
        const seen = fx.backend.requests.slice(before).map((r) => `${r.method} ${r.url}`);
        assert.ok(!seen.includes('GET /smuggled'), `the server received the smuggled request (proxy answered: ${answer}; server saw: ${seen.join(' | ')})`);
      });
    }
  });
}
