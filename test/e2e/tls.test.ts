/** TLS to clients (HTTPS on PORT, h2 where the runtime offers it, the redirect port, SIGHUP reload) and HTTPS to servers. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect as http2Connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { makeCa, makeLeaf, type Pem, pemFolder } from '../support/certs.ts';
import { getStats, request } from '../support/http.ts';
import { pollUntil, TEST_TIMEOUT_MS, withTimeout } from '../support/poll.ts';
import { type ProxyHandle, runToExit, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { limit } from '../conformance/runtime-limits.ts';
import { startWsBackend, type WsBackend } from '../support/ws-backend.ts';

const run = promisify(execFile);

/** curl's view of one HTTPS request: status, HTTP version and body. */
async function curl(url: string, caFile: string, ...flags: string[]): Promise<{ status: number; version: string; body: string }> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '10', '--cacert', caFile, ...flags, '-w', '\n%{http_code} %{http_version}', url]);
  const at = stdout.lastIndexOf('\n');
  const [status, version] = stdout.slice(at + 1).split(' ');
  return { status: Number(status), version: version!, body: stdout.slice(0, at) };
}

/** The SHA-256 fingerprint of the certificate a TLS server presents. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** An HTTP/2 session to the proxy, and one GET on it (status and body). */
async function http2Session(port: number, ca: string) {
  const session = http2Connect(`https://localhost:${port}`, { ca });
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const stream = session.request({ ':path': path, ...headers });
      let status: number | undefined;
      let body = '';
      stream.on('response', (head) => (status = head[':status']));
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (body += chunk));
      stream.once('end', () => resolve({ status, body }));
      stream.once('error', reject);
    });
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  return { session, get, goaway, closed };
}

/** Whether a TLS connection (HTTP/1.1 by ALPN) that sends an unfinished request head is closed within `withinMs`. */
function slowHeadClosed(port: number, ca: string, withinMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] }, () => {
      socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, withinMs);
    socket.on('data', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('error', (error) => (socket.destroyed ? undefined : reject(error)));
  });
}

const logged = (proxy: ProxyHandle, event: string) => proxy.waitForLog((l) => l.properties?.event === event);

for (const runtime of selectedRuntimes()) {
  const noH2 = limit(runtime, 'noHttp2');
  const offersH2 = noH2 === undefined;
  const noInsecure = limit(runtime, 'noUpstreamInsecure');
  describe(`TLS [${runtime.name}]`, { timeout: TEST_TIMEOUT_MS * 3 }, () => {
    let ca: Pem;
    let files: ReturnType<typeof pemFolder>;
    let caFile: string;
    let certFile: string;
    let keyFile: string;
    let plain: WsBackend;
    let proxy: ProxyHandle;

    before(async () => {
      ca = await makeCa();
      const leaf = await makeLeaf({ ca });
      files = pemFolder();
      caFile = files.write('ca.pem', ca.cert);
      certFile = files.write('cert.pem', leaf.cert);
      keyFile = files.write('key.pem', leaf.key);
      plain = await startWsBackend('plain');
      proxy = await startProxy(runtime, { BACKEND_SERVERS: plain.url, TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, HTTP_REDIRECT_PORT: '0' });
    });
    after(async () => {
      await proxy?.stop();
      await plain?.close();
      files?.remove();
    });

    test('curl --cacert gets a page over HTTPS and HTTP/1.1; the server sees X-Forwarded-Proto https', async () => {
      const got = await curl(`https://localhost:${proxy.port}/health`, caFile, '--http1.1', '-H', 'x-mark: h1');
      assert.deepEqual(got, { status: 200, version: '1.1', body: 'ok' });
      assert.equal(plain.requests.find((h) => h['x-mark'] === 'h1')?.['x-forwarded-proto'], 'https');
    });

    test(offersH2 ? 'curl --http2 gets the page over HTTP/2 (ALPN h2)' : `curl --http2 gets HTTP/1.1 (runtime limit: ${noH2})`, async () => {
      const got = await curl(`https://localhost:${proxy.port}/health`, caFile, '--http2', '-H', 'x-mark: h2');
      assert.deepEqual(got, { status: 200, version: offersH2 ? '2' : '1.1', body: 'ok' });
      const seen = plain.requests.find((h) => h['x-mark'] === 'h2');
      assert.equal(seen?.['x-forwarded-proto'], 'https');
      assert.equal(seen?.['x-forwarded-host'], `localhost:${proxy.port}`);
      assert.equal(seen?.host, plain.url.slice('http://'.length));
    });

    test('a POST body crosses HTTP/2 and HTTP/1.1 alike', async () => {
      const body = files.write('body.txt', 'x'.repeat(100_000));
      for (const flag of ['--http1.1', '--http2']) {
        const got = await curl(`https://localhost:${proxy.port}/health`, caFile, flag, '--data-binary', `@${body}`);
        assert.equal(got.status, 200, `${flag}: ${got.body}`);
      }
    });

    test('a WebSocket over TLS (wss) reaches the server, with X-Forwarded-Proto https', async () => {
      const ws = new WebSocket(`wss://localhost:${proxy.port}/tls-ws`, { ca: ca.cert });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.send('over tls');
      const echo = await new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
      assert.equal(echo, 'over tls');
      ws.close();
      assert.equal(plain.handshakes.at(-1)?.['x-forwarded-proto'], 'https');
    });

    test('the redirect port answers plain HTTP with a 308 to the HTTPS URL, path and query kept', async () => {
      const line = await logged(proxy, 'redirect_listening');
      const res = await request(`http://127.0.0.1:${line.properties?.port}/a/b?c=d`, { headers: { host: 'shop.localhost:8080' } });
      assert.equal(res.status, 308);
      assert.equal(res.headers.location, `https://shop.localhost:${proxy.port}/a/b?c=d`);
    });

    test('after SIGHUP the new certificate is served, without a restart', async () => {
      const before = await servedFingerprint(proxy.port, ca.cert);
      const next = await makeLeaf({ ca, commonName: 'renewed.localhost' });
      files.write('cert.pem', next.cert);
      files.write('key.pem', next.key);
      process.kill(proxy.pid, 'SIGHUP');
      await logged(proxy, 'tls_reloaded');
      const after = await pollUntil(async () => {
        const now = await servedFingerprint(proxy.port, ca.cert);
        return now !== before && now;
      }, { description: 'a new certificate is served' });
      assert.notEqual(after, before);
      const got = await curl(`https://localhost:${proxy.port}/health`, caFile, '--http1.1');
      assert.equal(got.status, 200);
    });

    const reloadCloses = limit(runtime, 'reloadClosesWebSockets');
    test(
      reloadCloses
        ? `SIGHUP closes an open wss tunnel with 1001 (runtime limit: ${reloadCloses})`
        : 'SIGHUP keeps an open wss tunnel: messages still flow after the certificate changed',
      async () => {
        const ws = new WebSocket(`wss://localhost:${proxy.port}/reload-ws`, { ca: ca.cert });
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        });
        const closedBy = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
        const reloads = proxy.events('tls_reloaded').length;
        process.kill(proxy.pid, 'SIGHUP');
        await pollUntil(() => proxy.events('tls_reloaded').length > reloads, { description: 'the certificate reloaded' });
        if (reloadCloses) {
          assert.equal(await withTimeout(closedBy, 10_000, 'the tunnel closed'), 1001);
          return;
        }
        ws.send('after reload');
        const echo = await withTimeout(new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString()))), 5000, 'the echo');
        assert.equal(echo, 'after reload');
        ws.close();
        await closedBy;
      },
    );

    test('with WORKERS=2, SIGHUP to the supervisor reaches every worker, and both share PORT over TLS', async () => {
      const workers = await startProxy(runtime, { BACKEND_SERVERS: plain.url, TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, WORKERS: '2' });
      try {
        assert.equal((await curl(`https://localhost:${workers.port}/health`, caFile, '--http1.1')).status, 200);
        process.kill(workers.pid, 'SIGHUP');
        await pollUntil(() => workers.events('tls_reloaded').length === 2, { timeoutMs: 10_000, description: 'both workers reloaded' });
        assert.equal((await curl(`https://localhost:${workers.port}/health`, caFile, '--http1.1')).status, 200);
      } finally {
        await workers.stop();
      }
    });

    test(
      offersH2
        ? 'shutdown: an idle HTTP/2 session gets GOAWAY and the process exits without waiting for SHUTDOWN_TIMEOUT_MS'
        : `shutdown with an HTTP/1.1 keep-alive connection over TLS exits without waiting for SHUTDOWN_TIMEOUT_MS (no h2: ${noH2})`,
      async () => {
        const solo = await startProxy(runtime, {
          BACKEND_SERVERS: plain.url,
          TLS_CERT_FILE: certFile,
          TLS_KEY_FILE: keyFile,
          SHUTDOWN_DELAY_MS: '0',
          SHUTDOWN_TIMEOUT_MS: '60000',
        });
        try {
          if (offersH2) {
            const h2 = await http2Session(solo.port, ca.cert);
            assert.deepEqual(await h2.get('/health'), { status: 200, body: 'ok' });
            // Killed after 20 s: an idle session that held the listener open would keep it for the whole 60 s.
            assert.deepEqual(await solo.stop(20_000), { code: 0, signal: null });
            await h2.closed;
          } else {
            const socket = tlsConnect({ host: '127.0.0.1', port: solo.port, servername: 'localhost', ca: ca.cert, ALPNProtocols: ['http/1.1'] });
            await new Promise((resolve) => socket.once('secureConnect', resolve));
            socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
            await new Promise((resolve) => socket.once('data', resolve));
            assert.deepEqual(await solo.stop(20_000), { code: 0, signal: null });
            socket.destroy();
          }
        } finally {
          await solo.stop();
        }
      },
    );

    const noLimits = limit(runtime, 'noClientConnectionLimits');
    test(
      'the TLS listener applies the client limits: a slow request head is cut (CLIENT_HEADER_TIMEOUT_MS), an idle HTTP/2 session gets GOAWAY (CLIENT_KEEPALIVE_TIMEOUT_MS), a header list over 16 KiB is refused',
      { skip: noLimits && `runtime limit: ${noLimits}` },
      async () => {
        const limited = await startProxy(runtime, {
          BACKEND_SERVERS: plain.url,
          TLS_CERT_FILE: certFile,
          TLS_KEY_FILE: keyFile,
          CLIENT_HEADER_TIMEOUT_MS: '500',
          CLIENT_KEEPALIVE_TIMEOUT_MS: '500',
        });
        try {
          assert.equal(await slowHeadClosed(limited.port, ca.cert, 5000), true, 'the unfinished head over TLS was not cut');
          const h2 = await http2Session(limited.port, ca.cert);
          assert.deepEqual(await h2.get('/health'), { status: 200, body: 'ok' });
          const big = await h2.get('/health', { 'x-big': 'x'.repeat(20 * 1024) }).catch((error: Error) => ({ status: undefined, body: error.message }));
          assert.notEqual(big.status, 200, 'a 20 KiB header list passed');
          await withTimeout(h2.goaway, 5000, 'GOAWAY to the idle session');
          await withTimeout(h2.closed, 5000, 'the idle session closed');
        } finally {
          await limited.stop();
        }
      },
    );

    test('a key that does not match its certificate, or a missing file, stops the start with a message naming the file', async () => {
      const other = await makeLeaf({ ca });
      const wrongKey = files.write('wrong-key.pem', other.key);
      const mismatch = await runToExit(runtime, { BACKEND_SERVERS: plain.url, TLS_CERT_FILE: certFile, TLS_KEY_FILE: wrongKey });
      assert.equal(mismatch.code, 1);
      assert.match(mismatch.stderr, /TLS_KEY_FILE=".*wrong-key\.pem" does not match the first certificate in TLS_CERT_FILE/);
      const missing = await runToExit(runtime, { BACKEND_SERVERS: plain.url, TLS_CERT_FILE: '/nonexistent/cert.pem', TLS_KEY_FILE: keyFile });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /TLS_CERT_FILE="\/nonexistent\/cert\.pem" cannot be read: no such file/);
    });

    test('a redirect port already in use stops the start with a message naming it', async () => {
      const line = await logged(proxy, 'redirect_listening');
      const busy = String(line.properties?.port);
      const result = await runToExit(runtime, { BACKEND_SERVERS: plain.url, TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, HTTP_REDIRECT_PORT: busy });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`cannot listen on HOST=127\\.0\\.0\\.1 HTTP_REDIRECT_PORT=${busy}`));
    });

    test('an expired certificate starts with a warning naming the file', async () => {
      const expired = await makeLeaf({ ca, notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
      const expiredCert = files.write('expired.pem', expired.cert);
      const expiredKey = files.write('expired-key.pem', expired.key);
      const started = await startProxy(runtime, { BACKEND_SERVERS: plain.url, TLS_CERT_FILE: expiredCert, TLS_KEY_FILE: expiredKey });
      try {
        const warning = await logged(started, 'tls_warning');
        assert.match(String(warning.message), /expired\.pem.*expired on/);
      } finally {
        await started.stop();
      }
    });
  });

  describe(`HTTPS servers [${runtime.name}]`, { timeout: TEST_TIMEOUT_MS * 3 }, () => {
    let files: ReturnType<typeof pemFolder>;
    let caFile: string;
    let secure: WsBackend;

    before(async () => {
      const ca = await makeCa('Private Upstream CA');
      files = pemFolder();
      caFile = files.write('upstream-ca.pem', ca.cert);
      secure = await startWsBackend('secure', await makeLeaf({ ca }));
    });
    after(async () => {
      await secure?.close();
      files?.remove();
    });

    test('with UPSTREAM_CA_FILE: requests, health checks and WebSockets reach the server', async () => {
      const proxy = await startProxy(runtime, { BACKEND_SERVERS: secure.url, UPSTREAM_CA_FILE: caFile });
      try {
        const stats = await pollUntil(async () => {
          const s = await getStats(proxy.url);
          return s.servers[0]?.lastHealthCheck !== null && s;
        }, { description: 'a health check ran' });
        assert.equal(stats.servers[0]?.lastHealthCheck?.ok, true);
        const res = await request(`${proxy.url}/health`);
        assert.equal(res.status, 200);
        assert.equal(res.text(), 'ok');
        const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/`);
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        });
        ws.send('to wss');
        assert.equal(await new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString()))), 'to wss');
        ws.close();
      } finally {
        await proxy.stop();
      }
    });

    test('without the CA: 502 with a clear reason, and a log line', async () => {
      const proxy = await startProxy(runtime, { BACKEND_SERVERS: secure.url, HEALTH_CHECK_INTERVAL_MS: '60000' });
      try {
        const res = await request(`${proxy.url}/x`);
        // The first probe fails too, so the server may already be out of rotation (503).
        assert.ok([502, 503].includes(res.status), `status ${res.status}`);
        const line = await proxy.waitForLog((l) =>
          l.properties?.event === 'forward_failed' || l.properties?.event === 'server_unhealthy' || l.properties?.event === 'health_changed'
        );
        assert.match(String(line.message), /TLS certificate of the server not accepted \(\w+\); if it comes from a private CA, set UPSTREAM_CA_FILE/);
        if (res.status === 502) assert.match(res.text(), /TLS certificate of the server not accepted/);
      } finally {
        await proxy.stop();
      }
    });

    test(
      noInsecure ? `UPSTREAM_TLS_INSECURE=true stops the start (runtime limit: ${noInsecure})` : 'UPSTREAM_TLS_INSECURE=true: works, with a warning at start',
      async () => {
        if (noInsecure) {
          const result = await runToExit(runtime, { BACKEND_SERVERS: secure.url, UPSTREAM_TLS_INSECURE: 'true' });
          assert.equal(result.code, 1);
          assert.match(result.stderr, /UPSTREAM_TLS_INSECURE=true is not supported on Deno.*--unsafely-ignore-certificate-errors/);
          return;
        }
        const proxy = await startProxy(runtime, { BACKEND_SERVERS: secure.url, UPSTREAM_TLS_INSECURE: 'true' });
        try {
          const warning = await logged(proxy, 'tls_warning');
          assert.match(String(warning.message), /UPSTREAM_TLS_INSECURE=true/);
          const res = await request(`${proxy.url}/health`);
          assert.equal(res.status, 200);
        } finally {
          await proxy.stop();
        }
      },
    );
  });
}
