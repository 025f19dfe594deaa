/** WebSocket through Fairway, with the `ws` package as client and server: frames, closes, accounting, failures, limits, shutdown. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { getStats, request, waitForIdle } from '../support/http.ts';
import { pollUntil, TEST_TIMEOUT_MS, withTimeout } from '../support/poll.ts';
import { type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { limit } from '../conformance/runtime-limits.ts';
import { startWsBackend, type WsBackend } from '../support/ws-backend.ts';

const MIB = 1024 * 1024;
const IDLE_MS = 1000;
const SHUTDOWN_DELAY = 500;
const SHUTDOWN_TIMEOUT = 2500;
const SHUTDOWN = { SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY), SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT) };
/** delay + timeout + the margins shutdown.ts allows, plus slack for a shared machine (and the supervisor's with WORKERS=2). */
const SHUTDOWN_BOUND_MS = SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT + 5000;

function wsUrl(proxy: ProxyHandle, path = '/'): string {
  return `ws://127.0.0.1:${proxy.port}${path}`;
}

/** Opens a client through the proxy and waits for `open` (or the refusal). */
function connect(url: string, protocols: string[] = [], options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { maxPayload: 64 * MIB, ...options });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => reject(Object.assign(new Error(`handshake answered ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
    });
  });
}

const nextMessage = (ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> =>
  new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));

const closed = (ws: WebSocket): Promise<{ code: number; reason: string }> =>
  ws.readyState === WebSocket.CLOSED
    ? Promise.resolve({ code: -1, reason: 'already closed' })
    : new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));

/** Sends a raw request head and returns what comes back until the connection closes or goes quiet. */
function rawUpgrade(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    const done = () => {
      socket.destroy();
      resolve(text);
    };
    socket.setTimeout(2000, done);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (/\r\n\r\n/.test(text)) done();
    });
    socket.once('end', done);
    socket.once('error', reject);
  });
}

/** Resident memory of a process, from /proc (Linux). */
const rssBytes = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

for (const runtime of selectedRuntimes()) {
  const relay = limit(runtime, 'webSocketOnly') !== undefined;
  const refusedAs502 = limit(runtime, 'webSocketRefusalAs502');
  const whatwgCloseCodes = limit(runtime, 'webSocketClientCloseCodes');
  const denoKeepsListening = limit(runtime, 'listenerOpenWhileTunnelsDrain');
  describe(`WebSocket [${runtime.name}]`, { timeout: TEST_TIMEOUT_MS * 3 }, () => {
    let a: WsBackend;
    let b: WsBackend;
    let proxy: ProxyHandle;

    before(async () => {
      a = await startWsBackend('a');
      b = await startWsBackend('b');
      proxy = await startProxy(runtime, { BACKEND_SERVERS: `${a.url},${b.url}`, ALGORITHM: 'round_robin' });
    });
    after(async () => {
      await proxy?.stop();
      await a?.close();
      await b?.close();
    });

    test('text, binary and a 4 MiB message echo unchanged; the handshake carries X-Forwarded-* and the request id', async () => {
      const ws = await connect(wsUrl(proxy, '/echo?x=1'), [], { headers: { 'x-request-id': 'ws-echo-1' } });
      ws.send('hello, tunnel');
      const text = await nextMessage(ws);
      assert.equal(text.isBinary, false);
      assert.equal(text.data.toString(), 'hello, tunnel');

      const binary = Buffer.from([0, 1, 2, 255, 254, 0]);
      ws.send(binary);
      const echoed = await nextMessage(ws);
      assert.equal(echoed.isBinary, true);
      assert.deepEqual(echoed.data, binary);

      const big = Buffer.alloc(4 * MIB);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      ws.send(big);
      const bigEcho = await nextMessage(ws);
      assert.equal(bigEcho.data.length, big.length);
      assert.ok(bigEcho.data.equals(big), 'the 4 MiB message came back byte for byte');
      ws.close(1000);
      await closed(ws);

      const handshake = [...a.handshakes, ...b.handshakes].find((h) => h['x-request-id'] === 'ws-echo-1');
      assert.ok(handshake, 'the server saw the request id');
      assert.equal(handshake['x-forwarded-proto'], 'http');
      assert.equal(handshake['x-forwarded-for'], '127.0.0.1');
      await waitForIdle(proxy.url);
    });

    test('the subprotocol the server chose reaches the client (graphql-ws, offered as "other,graphql-ws", as the ws package sends it)', async () => {
      const ws = await connect(wsUrl(proxy), ['other', 'graphql-ws']);
      assert.equal(ws.protocol, 'graphql-ws');
      ws.close();
      await closed(ws);
    });

    test('close codes and reasons pass both ways', async () => {
      const fromServer = await connect(wsUrl(proxy));
      const seen = closed(fromServer);
      fromServer.send('close:4003:server says bye');
      assert.deepEqual(await seen, { code: 4003, reason: 'server says bye' });

      const fromClient = await connect(wsUrl(proxy));
      fromClient.send('whoami');
      const name = (await nextMessage(fromClient)).data.toString();
      const server = name === 'a' ? a : b;
      const before = server.closes.length;
      fromClient.close(4004, 'client says bye');
      await closed(fromClient);
      const got = await pollUntil(() => server.closes[before], { description: 'the server saw the close' });
      assert.deepEqual(got, { code: 4004, reason: 'client says bye' });
      await waitForIdle(proxy.url);
    });

    test(`a client's close code 1001 reaches the server as ${whatwgCloseCodes ? `1000 (runtime limit: ${whatwgCloseCodes})` : '1001'}`, async () => {
      const ws = await connect(wsUrl(proxy));
      ws.send('whoami');
      const server = (await nextMessage(ws)).data.toString() === 'a' ? a : b;
      const before = server.closes.length;
      ws.close(1001, 'page left');
      await closed(ws);
      const got = await pollUntil(() => server.closes[before], { description: 'the server saw the close' });
      assert.equal(got.code, whatwgCloseCodes ? 1000 : 1001);
    });

    test('200 concurrent tunnels are spread by the algorithm, count as in flight and as websockets, and return to 0', async () => {
      const sockets = await Promise.all(Array.from({ length: 200 }, () => connect(wsUrl(proxy))));
      try {
        const stats = await getStats(proxy.url);
        const totals = stats.totals as typeof stats.totals & { websockets: number };
        assert.equal(totals.activeConnections, 200);
        assert.equal(totals.websockets, 200);
        for (const server of stats.servers) {
          assert.equal(server.activeConnections, 100, `${server.url} holds half the tunnels (round robin)`);
          assert.equal((server as typeof server & { websockets: number }).websockets, 100);
        }
        assert.equal(a.open.size, 100);
        assert.equal(b.open.size, 100);
      } finally {
        for (const ws of sockets) ws.close();
        await Promise.all(sockets.map(closed));
      }
      const idle = await waitForIdle(proxy.url, 10_000);
      assert.equal((idle.totals as typeof idle.totals & { websockets: number }).websockets, 0);
    });

    test(`a refused handshake reaches the client ${refusedAs502 ? `as a 502 (runtime limit: ${refusedAs502})` : 'as the server sent it'}`, async () => {
      const refusal = await connect(wsUrl(proxy, '/refuse')).then(
        () => assert.fail('the handshake should have been refused'),
        (error: { status?: number; headers?: Record<string, string>; body?: string }) => error,
      );
      if (refusedAs502) {
        assert.equal(refusal.status, 502);
        assert.match(refusal.body ?? '', /refused the WebSocket handshake with status 403/);
      } else {
        assert.equal(refusal.status, 403);
        assert.match(refusal.headers?.['x-refused-by'] ?? '', /^[ab]$/);
        assert.equal(refusal.body, 'not for you\n');
      }
      await waitForIdle(proxy.url);
    });

    test("a client that stops reading leaves the proxy's memory bounded", async () => {
      const ws = await connect(wsUrl(proxy));
      ws.send('whoami');
      const server = (await nextMessage(ws)).data.toString() === 'a' ? a : b;
      const before = rssBytes(proxy.pid);
      const closesBefore = server.closes.length;
      ws.pause();
      // 96 MiB from the server toward a client that reads nothing.
      ws.send('flood:96:1048576');
      if (relay) {
        // A relay cannot pause reading: past WEBSOCKET_MAX_BUFFERED_BYTES (32 MiB) it closes the tunnel.
        const got = await pollUntil(() => server.closes[closesBefore], { timeoutMs: 20_000, description: 'the relay closed the tunnel' });
        // Deno's WebSocket client can send the server only 1000 (runtime limit); the log names the cause.
        assert.equal(got.code, whatwgCloseCodes ? 1000 : 1008, `closed with ${got.code} ${got.reason}`);
        const line = await proxy.waitForLog((l) => l.properties?.event === 'websocket_closed' && l.properties?.cause === 'buffer_limit');
        assert.equal(line.properties?.code, 1008);
      } else {
        // A byte tunnel pauses the server's socket: the proxy holds a few socket buffers, not 96 MiB.
        await pollUntil(() => server.open.size > 0 && [...server.open].some((s) => s.bufferedAmount > 16 * MIB), {
          timeoutMs: 20_000,
          description: 'the server is held back by backpressure',
        });
      }
      if (!relay) {
        const grown = rssBytes(proxy.pid) - before;
        assert.ok(grown < 48 * MIB, `proxy RSS grew by ${Math.round(grown / MIB)} MiB`);
      }
      ws.terminate();
      await waitForIdle(proxy.url, 10_000);
    });

    test('a handshake to a server that is down gets 502', async () => {
      const down = await startWsBackend('down');
      const solo = await startProxy(runtime, { BACKEND_SERVERS: down.url, HEALTH_CHECK_INTERVAL_MS: '60000' });
      // Down after the first health check passed: the next handshake is the first to find out.
      await pollUntil(async () => (await getStats(solo.url)).servers[0]?.lastHealthCheck?.ok, { description: 'the first probe passed' });
      await down.close();
      try {
        const refusal = await connect(wsUrl(solo)).then(
          () => assert.fail('no server to connect to'),
          (error: { status?: number; body?: string }) => error,
        );
        assert.equal(refusal.status, 502);
        await waitForIdle(solo.url);
      } finally {
        await solo.stop();
      }
    });

    test('a server killed under open tunnels: every client sees a close and nothing stays in flight', async () => {
      const c = await startWsBackend('c');
      const solo = await startProxy(runtime, { BACKEND_SERVERS: c.url, HEALTH_CHECK_INTERVAL_MS: '60000' });
      try {
        const sockets = await Promise.all(Array.from({ length: 10 }, () => connect(wsUrl(solo))));
        assert.equal((await getStats(solo.url)).totals.activeConnections, 10);
        const closes = sockets.map(closed);
        await c.kill();
        const codes = await withTimeout(Promise.all(closes), 10_000, 'every client saw a close');
        for (const { code } of codes) assert.ok([1006, 1014, 1011, 1001].includes(code), `close code ${code}`);
        await waitForIdle(solo.url, 10_000);
      } finally {
        await solo.stop();
        await c.close();
      }
    });

    test(`a ping through the proxy is answered with a pong (${relay ? 'per hop: each side of the relay answers its own peer' : 'end to end: the byte tunnel carries it'})`, async () => {
      const ws = await connect(wsUrl(proxy));
      const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
      ws.ping(Buffer.from('are you there'));
      assert.equal((await withTimeout(pong, 5000, 'the pong')).toString(), 'are you there');
      ws.close();
      await closed(ws);
    });

    test('a handshake to a server that has gone down is retried on another one before the 101 (a handshake is a GET)', async () => {
      const down = await startWsBackend('gone');
      const up = await startWsBackend('up');
      const pair = await startProxy(runtime, { BACKEND_SERVERS: `${down.url},${up.url}`, HEALTH_CHECK_INTERVAL_MS: '60000' });
      try {
        await pollUntil(async () => (await getStats(pair.url)).servers.every((s) => s.lastHealthCheck?.ok === true), { description: 'first probes passed' });
        await down.close();
        // Round robin sends one of each two handshakes to the server that is gone: every one still opens, on `up`.
        for (let i = 0; i < 4; i++) {
          const ws = await connect(wsUrl(pair));
          ws.send('whoami');
          assert.equal((await nextMessage(ws)).data.toString(), 'up');
          ws.close();
          await closed(ws);
        }
        assert.ok(pair.events('retry').length >= 1, 'a retry was logged');
      } finally {
        await pair.stop();
        await up.close();
      }
    });

    test('a server that goes unhealthy keeps its open tunnels; new handshakes go elsewhere', async () => {
      const sick = await startWsBackend('sick');
      const well = await startWsBackend('well');
      const pair = await startProxy(runtime, {
        BACKEND_SERVERS: `${sick.url},${well.url}`,
        HEALTH_CHECK_INTERVAL_MS: '100',
        HEALTH_CHECK_FALL: '1',
        HEALTH_CHECK_RISE: '1',
      });
      try {
        const tunnels = await Promise.all([connect(wsUrl(pair)), connect(wsUrl(pair))]);
        const names = await Promise.all(tunnels.map(async (ws) => (ws.send('whoami'), (await nextMessage(ws)).data.toString())));
        const onSick = tunnels[names.indexOf('sick')]!;
        sick.healthy = false;
        await pollUntil(async () => (await getStats(pair.url)).servers.find((s) => s.url === sick.url)?.healthy === false, {
          description: 'the server marked unhealthy',
        });
        onSick.send('still open');
        assert.equal((await withTimeout(nextMessage(onSick), 5000, 'the echo')).data.toString(), 'still open');
        assert.equal(onSick.readyState, WebSocket.OPEN);
        const fresh = await connect(wsUrl(pair));
        fresh.send('whoami');
        assert.equal((await nextMessage(fresh)).data.toString(), 'well');
        for (const ws of [...tunnels, fresh]) ws.close();
        await Promise.all([...tunnels, fresh].map(closed));
      } finally {
        await pair.stop();
        await sick.close();
        await well.close();
      }
    });

    test('with STICKY_COOKIE, the 101 carries the sticky cookie, and a handshake sending it back goes to the same server', async () => {
      const sticky = await startProxy(runtime, { BACKEND_SERVERS: `${a.url},${b.url}`, STICKY_COOKIE: 'fw', HEALTH_CHECK_INTERVAL_MS: '60000' });
      try {
        // `ws` shows the 101 only in its `upgrade` event, just before `open`.
        const opened = (headers: Record<string, string> = {}) =>
          new Promise<{ ws: WebSocket; setCookie: string[] | undefined }>((resolve, reject) => {
            const ws = new WebSocket(wsUrl(sticky), [], { headers });
            let setCookie: string[] | undefined;
            ws.once('upgrade', (res) => (setCookie = res.headers['set-cookie']));
            ws.once('open', () => resolve({ ws, setCookie }));
            ws.once('error', reject);
          });
        const first = await opened();
        const cookie = first.setCookie?.find((line) => line.startsWith('fw='));
        assert.ok(cookie, `the 101 carries the sticky cookie (got ${JSON.stringify(first.setCookie)})`);
        first.ws.send('whoami');
        const pinned = (await nextMessage(first.ws)).data.toString();
        first.ws.close();
        for (let i = 0; i < 4; i++) {
          const again = await opened({ cookie: cookie.split(';')[0]! });
          assert.equal(again.setCookie, undefined, 'not re-set while the cookie names the server');
          again.ws.send('whoami');
          assert.equal((await nextMessage(again.ws)).data.toString(), pinned, 'pinned to the same server');
          again.ws.close();
          await closed(again.ws);
        }
      } finally {
        await sticky.stop();
      }
    });

    test('WEBSOCKET_IDLE_TIMEOUT_MS closes a tunnel with no traffic with 1001; a tunnel with traffic stays open', async () => {
      const c = await startWsBackend('i');
      const solo = await startProxy(runtime, { BACKEND_SERVERS: c.url, HEALTH_CHECK_INTERVAL_MS: '60000', WEBSOCKET_IDLE_TIMEOUT_MS: String(IDLE_MS) });
      try {
        const quiet = await connect(wsUrl(solo));
        const busy = await connect(wsUrl(solo));
        const quietClosed = closed(quiet);
        const startedAt = Date.now();
        // A message every quarter of the limit, for three times the limit (bounded: 12 messages).
        for (let i = 0; i < 12; i++) {
          busy.send(`tick ${i}`);
          assert.equal((await nextMessage(busy)).data.toString(), `tick ${i}`);
          await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 4));
        }
        const quietClose = await withTimeout(quietClosed, 1000, 'the quiet tunnel was closed');
        assert.equal(quietClose.code, 1001);
        assert.ok(Date.now() - startedAt >= 3 * IDLE_MS);
        assert.equal(busy.readyState, WebSocket.OPEN, 'the tunnel with traffic is still open after three times the limit');
        const line = await solo.waitForLog((l) => l.properties?.event === 'websocket_closed' && l.properties?.cause === 'idle');
        assert.equal(line.properties?.code, 1001);
        busy.close(1000);
        await closed(busy);
        await waitForIdle(solo.url, 10_000);
      } finally {
        await solo.stop();
        await c.close();
      }
    });

    for (const workers of ['1', '2']) {
      test(
        `graceful shutdown (WORKERS=${workers}): an open tunnel stays usable through the drain, gets 1001 at SHUTDOWN_TIMEOUT_MS, and the process exits 0${
          workers === '1' ? '; a new handshake during the drain is refused' : ''
        }`,
        async () => {
          const c = await startWsBackend('d');
          const solo = await startProxy(runtime, { BACKEND_SERVERS: c.url, HEALTH_CHECK_INTERVAL_MS: '60000', WORKERS: workers, ...SHUTDOWN });
          try {
            const ws = await connect(wsUrl(solo));
            ws.send('before');
            assert.equal((await nextMessage(ws)).data.toString(), 'before');
            const seen = closed(ws);
            const signalledAt = Date.now();
            const exited = solo.stop(SHUTDOWN_BOUND_MS);
            await pollUntil(async () => (await request(`${solo.url}/lb/ready`).catch(() => ({ status: 0 }))).status === 503, {
              description: 'readiness failing: shutdown began',
            });
            if (workers === '1') {
              // Past SHUTDOWN_DELAY_MS the listener is closed: a new handshake is refused like any new connection.
              const refusal = await pollUntil(
                () =>
                  connect(wsUrl(solo)).then(
                    (late): false => (late.terminate(), false),
                    (error: { status?: number; code?: string }) => error,
                  ),
                {
                  timeoutMs: 10_000,
                  description: 'a new handshake refused during the drain',
                },
              );
              if (denoKeepsListening) assert.equal(refusal.status, 503, `runtime limit: ${denoKeepsListening}`);
              // Refused, or reset when it raced the listener's close (never accepted), or 503 when it reached a closing one.
              else {assert.ok(
                  refusal.status === 503 || ['ECONNREFUSED', 'ECONNRESET'].includes(refusal.code ?? ''),
                  `refused with ${refusal.status ?? refusal.code}`,
                );}
            }
            // The tunnel still carries messages both ways during the drain.
            ws.send('during the drain');
            assert.equal((await withTimeout(nextMessage(ws), 5000, 'the echo during the drain')).data.toString(), 'during the drain');
            const close = await withTimeout(seen, SHUTDOWN_BOUND_MS, 'the client saw the close');
            const closedAfterMs = Date.now() - signalledAt;
            assert.equal(close.code, 1001);
            assert.ok(closedAfterMs >= SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT, `closed ${closedAfterMs} ms after SIGTERM, before the drain deadline`);
            assert.deepEqual(await exited, { code: 0, signal: null }, 'killed: shutdown did not end within its bound');
            // The handshakes tried during the delay were accepted and cut by the test (1006); the drained tunnel's close is the other one.
            const server = await pollUntil(() => c.closes.find((x) => x.code !== 1006), { description: 'the server saw the close' });
            assert.equal(server.code, whatwgCloseCodes ? 1000 : 1001);
          } finally {
            await solo.stop();
            await c.close();
          }
        },
      );
    }

    test('graceful shutdown: a tunnel that ends by itself during the drain lets the process exit before SHUTDOWN_TIMEOUT_MS', async () => {
      const c = await startWsBackend('e');
      const solo = await startProxy(runtime, {
        BACKEND_SERVERS: c.url,
        HEALTH_CHECK_INTERVAL_MS: '60000',
        SHUTDOWN_DELAY_MS: '0',
        SHUTDOWN_TIMEOUT_MS: '60000',
      });
      try {
        const ws = await connect(wsUrl(solo));
        const exited = solo.stop(30_000);
        await solo.waitForLog((l) => l.properties?.event === 'shutdown');
        ws.send('still here');
        assert.equal((await withTimeout(nextMessage(ws), 5000, 'the echo during the drain')).data.toString(), 'still here');
        ws.close(1000, 'done');
        assert.equal((await closed(ws)).code, 1000);
        assert.deepEqual(await exited, { code: 0, signal: null }, 'the drain waited past the last tunnel');
      } finally {
        await solo.stop();
        await c.close();
      }
    });

    test(
      relay
        ? `another Upgrade protocol is forwarded as a plain request (runtime limit: ${limit(runtime, 'webSocketOnly')})`
        : 'any Upgrade protocol is tunnelled, not only WebSocket (a Node extra)',
      async () => {
        const answer = await rawUpgrade(proxy.port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: fairway-test/1\r\n\r\n');
        // The ws backend refuses a non-WebSocket upgrade with 400 (Node tunnels it there); as a plain GET /health it answers 200.
        assert.match(answer, relay ? /^HTTP\/1\.1 200/ : /^HTTP\/1\.1 400/);
      },
    );

    test('a plain request still works beside WebSocket traffic', async () => {
      const res = await request(`${proxy.url}/health`);
      assert.equal(res.status, 200);
    });
  });
}
