/** What the proxy forwards: methods, request targets, bodies (streamed), headers, redirects, encodings. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { type Backend, backendServers, closeBackends, GZIP_BYTES, GZIP_PLAIN, SET_COOKIES, startBackends } from '../support/backends.ts';
import { rawRequest, request, waitForIdle } from '../support/http.ts';
import { pollUntil, TEST_TIMEOUT_MS, withTimeout } from '../support/poll.ts';
import { type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';

/** Request targets that must reach the server byte for byte (all valid origin-form, stable under WHATWG URL parsing). */
const TARGETS = [
  '/a%2Fb//c?x=%20&y=1',
  '/echo',
  '/p;m=1/%7Euser/x+y?q=a+b&r=%2B&r=2&empty=&flag',
  '/caf%C3%A9/%E2%9C%93?name=%C3%A9t%C3%A9&sort=-date,name',
  '/path/with:colon@at/$dollar/!bang*star(paren)?a[0]=1&b=%5B%5D',
  '/trailing/slash/?k=v%26w',
];

for (const runtime of selectedRuntimes()) {
  describe(`proxying [${runtime.name}]`, () => {
    let backend: Backend;
    let proxy: ProxyHandle;

    before(async () => {
      [backend] = (await startBackends([{ name: 'solo' }])) as [Backend];
      proxy = await startProxy(runtime, { BACKEND_SERVERS: backendServers([backend]) });
    });

    after(async () => {
      await proxy?.stop();
      await closeBackends([backend]);
    });

    test('path and query reach the server byte for byte (raw TCP requests)', { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const target of TARGETS) {
        const res = await rawRequest(proxy.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}`);
        assert.equal(res.status, 200, `${target}: ${res.statusLine} ${res.body.toString().slice(0, 200)}`);
        assert.equal(backend.requests.at(-1)?.url, target, 'target as received by the server');
      }
    });

    test('every method is forwarded as is', { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        const body = ['POST', 'PUT', 'PATCH'].includes(method) ? `body for ${method}` : undefined;
        const res = await request(`${proxy.url}/echo?m=${method}`, { method, body });
        assert.equal(res.status, 200, `${method}: ${res.text().slice(0, 200)}`);
        const echo = res.json();
        assert.equal(echo.method, method);
        assert.equal(echo.url, `/echo?m=${method}`);
        assert.equal(echo.body, body ?? '');
      }
      const head = await request(`${proxy.url}/echo?m=HEAD`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.equal(backend.requests.at(-1)?.method, 'HEAD');
      // Raw-socket POST with an explicit Content-Length.
      const raw = await rawRequest(
        proxy.port,
        `POST /echo?raw=1 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11`,
        'hello world',
      );
      assert.equal(raw.status, 200);
      assert.equal(JSON.parse(raw.body.toString()).body, 'hello world');
    });

    test('request headers reach the server', { timeout: TEST_TIMEOUT_MS }, async () => {
      const res = await request(`${proxy.url}/echo`, {
        headers: { 'x-custom': 'value 1', accept: 'application/json', 'user-agent': 'fairway-e2e' },
      });
      const echo = res.json();
      assert.equal(echo.headers['x-custom'], 'value 1');
      assert.equal(echo.headers['user-agent'], 'fairway-e2e');
      assert.equal(echo.headers.accept, 'application/json');
    });

    test('a large POST body is echoed intact (1 MiB binary)', { timeout: TEST_TIMEOUT_MS }, async () => {
      const body = randomBytes(1024 * 1024);
      const res = await request(`${proxy.url}/echo`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/octet-stream' },
        timeoutMs: 20_000,
      });
      assert.equal(res.status, 200);
      const echo = res.json();
      assert.equal(echo.bodyLength, body.length);
      assert.equal(echo.sha256, createHash('sha256').update(body).digest('hex'));
      const piped = await request(`${proxy.url}/pipe`, { method: 'PUT', body, timeoutMs: 20_000 });
      assert.equal(piped.status, 200);
      assert.ok(piped.body.equals(body), 'streaming echo returns the same bytes');
    });

    test('response bodies stream: the first chunk arrives while the server is still sending', { timeout: TEST_TIMEOUT_MS }, async () => {
      let req: http.ClientRequest | undefined;
      const res = await withTimeout(
        new Promise<http.IncomingMessage>((resolve, reject) => {
          req = http.get(`${proxy.url}/hold?early=1`, { agent: false }, resolve).on('error', reject);
        }),
        5000,
        'response headers relayed while the server still holds the body',
      ).catch((e) => {
        req?.destroy();
        backend.release();
        throw e;
      });
      assert.equal(res.statusCode, 200);
      res.setEncoding('utf8');
      let text = '';
      const gotFirst = new Promise<void>((resolve) => {
        res.on('data', (c: string) => {
          text += c;
          if (text.includes('first\n')) resolve();
        });
      });
      const ended = new Promise<void>((resolve, reject) => {
        res.on('end', resolve);
        res.on('error', reject);
      });
      await pollUntil(() => backend.held === 1, { description: 'server holding the response' });
      await withTimeout(gotFirst, 5000, 'first chunk relayed before the response ended').catch((e) => {
        res.destroy();
        backend.release();
        throw e;
      });
      backend.release();
      await withTimeout(ended, 5000, 'end of the response after release');
      assert.equal(text, 'first\nreleased solo\n');
    });

    test('request bodies stream: the server sees the first chunk before the client finishes', { timeout: TEST_TIMEOUT_MS }, async () => {
      const req = http.request(`${proxy.url}/pipe`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } });
      const response = new Promise<Buffer>((resolve, reject) => {
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
      const firstSeen = new Promise<void>((resolve) => {
        const onData = (c: Buffer) => {
          if (c.toString().includes('part-one')) {
            backend.off('pipe-data', onData);
            resolve();
          }
        };
        backend.on('pipe-data', onData);
      });
      req.write('part-one;');
      await withTimeout(firstSeen, 5000, 'first request-body chunk reaching the server before the body ended').catch((e) => {
        req.destroy();
        throw e;
      });
      req.end('part-two');
      assert.equal((await withTimeout(response, 5000, 'piped response')).toString(), 'part-one;part-two');
    });

    test('multiple Set-Cookie headers stay separate', { timeout: TEST_TIMEOUT_MS }, async () => {
      const res = await request(`${proxy.url}/cookies`);
      assert.equal(res.status, 200);
      const cookies: string[] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        if (res.rawHeaders[i]!.toLowerCase() === 'set-cookie') cookies.push(res.rawHeaders[i + 1]!);
      }
      assert.deepEqual(cookies, SET_COOKIES);
    });

    test('redirects pass through and are not followed', { timeout: TEST_TIMEOUT_MS }, async () => {
      const before = backend.requests.length;
      const res = await request(`${proxy.url}/redirect`);
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, '/redirect-target');
      assert.equal(res.text(), 'see /redirect-target');
      assert.equal(backend.requests.length, before + 1);
      assert.ok(!backend.requests.some((r) => r.url === '/redirect-target'), 'the proxy followed the redirect');
    });

    test('a gzip response reaches the client byte for byte, with headers that match its bytes', { timeout: TEST_TIMEOUT_MS }, async () => {
      const res = await request(`${proxy.url}/gzip`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(res.status, 200);
      // Every runtime relays the encoded bytes untouched: Node's and Bun's clients do not decode, and the Deno
      // entrypoint asks its fetch for identity (no decompression).
      assert.equal(res.headers['content-encoding'], 'gzip');
      assert.ok(res.body.equals(GZIP_BYTES), `gzip bytes relayed byte for byte (got ${res.body.length} bytes, sent ${GZIP_BYTES.length})`);
      assert.equal(gunzipSync(res.body).toString(), GZIP_PLAIN);
      const len = res.headers['content-length'];
      if (len !== undefined) assert.equal(Number(len), res.body.length, 'Content-Length matches the bytes sent');
    });

    test('status codes and bodies of error responses from the server pass through', { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const status of [400, 404, 418, 500, 503]) {
        const res = await request(`${proxy.url}/status/${status}`);
        assert.equal(res.status, status);
        assert.deepEqual(res.json(), { backend: 'solo', status });
      }
      await waitForIdle(proxy.url);
    });
  });

  // A proxy per test: a failure here (e.g. a leaked in-flight count) must not spill into other tests.
  describe(`malformed Connection headers [${runtime.name}]`, () => {
    let backend: Backend;
    let proxy: ProxyHandle;

    beforeEach(async () => {
      [backend] = (await startBackends([{ name: 'solo' }])) as [Backend];
      proxy = await startProxy(runtime, { BACKEND_SERVERS: backendServers([backend]) });
    });

    afterEach(async () => {
      await proxy?.stop();
      await closeBackends([backend]);
    });

    /** The in-flight count must return to 0 whatever the answer was; checked after the answer's own assertions. */
    const idleError = () => waitForIdle(proxy.url).then(() => undefined, (e: Error) => e);

    test('a request whose Connection header lists an invalid token is still forwarded', { timeout: TEST_TIMEOUT_MS }, async () => {
      const res = await rawRequest(
        proxy.port,
        `GET /echo?conn=1 HTTP/1.1\r\nHost: x\r\nConnection: close, foo bar\r\nX-Client: yes`,
      );
      const leak = await idleError();
      assert.equal(res.status, 200, `${res.statusLine} ${res.body.toString().slice(0, 300)}`);
      const echo = JSON.parse(res.body.toString());
      assert.equal(echo.url, '/echo?conn=1');
      assert.equal(echo.headers['x-client'], 'yes');
      assert.equal(leak, undefined);
    });

    test('a response whose Connection header lists an invalid token is still relayed', { timeout: TEST_TIMEOUT_MS }, async () => {
      const res = await request(`${proxy.url}/bad-connection`);
      const leak = await idleError();
      assert.equal(res.status, 200, `${res.status} ${res.text().slice(0, 300)}`);
      assert.equal(res.text(), 'bad connection header');
      assert.equal(leak, undefined);
    });
  });
}
