/**
 * The forwarding contract, one suite run against every I/O path (srvx's `addTests()` spirit): the Web
 * forwarder with a fake fetch, and Node's native forwarder with real loopback node:http servers and undici.
 * A behaviour that holds on one path but not the other fails here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Config, ServerConfig } from '../../src/core/config/config-types.ts';
import { RESILIENCE_DEFAULTS } from '../../src/core/config/resilience-types.ts';
import type { ExchangeRecord, OutcomeKind } from '../../src/core/proxy/exchange.ts';
import type { HealthChecker } from '../../src/core/upstream/health-checker.ts';
import { createSelector } from '../../src/core/selection/selector.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';
import type { StatsReport } from '../../src/core/stats/stats-report.ts';
import { bodyTiedTo, controlledBody, readText, untilAborted, type UpstreamCall, type UpstreamHandler } from './fakes.ts';

/** A balancer served through one forwarder, with its upstream servers scripted by an UpstreamHandler. */
export interface Rig {
  /** The configured server origins, in order. */
  readonly servers: readonly string[];
  readonly pool: ServerPool;
  readonly health: HealthChecker;
  stats(): StatsReport;
  /** What each exchange's single exit reported, in order of exit. */
  readonly records: readonly ExchangeRecord[];
  /** What the upstream servers received, in order; `url` is origin plus path and query. */
  readonly calls: readonly UpstreamCall[];
  call(n: number): Promise<UpstreamCall>;
  /** A request from a client through the forwarder, as fetch would send it. */
  send(path: string, init?: RequestInit): Promise<Response>;
  /**
   * A request as a plain HTTP client sends it: any method (fetch refuses TRACE), head and body in one write
   * (so a server that answers before reading the body cannot make the client's write fail).
   */
  sendMethod(
    method: string,
    path: string,
    init?: { headers?: Record<string, string>; body?: string },
  ): Promise<{ status: number; headers: Headers; body: string }>;
  /** A client that starts an upload and then breaks it off; resolves once the forwarder had it in hand. */
  abandonUpload(path: string): Promise<void>;
  close(): Promise<void>;
}

export interface RigOptions {
  /** Server count (default 1). */
  readonly servers?: number;
  readonly weights?: readonly number[];
  readonly upstreamTimeoutMs?: number;
  readonly maxRequestBodyBytes?: number;
  readonly clientBodyTimeoutMs?: number;
  readonly upstreamReadTimeoutMs?: number;
  /** Every read of a request body fails at the forwarder, as when the client's connection breaks mid-upload. */
  readonly failUploadReads?: boolean;
  /** What the upstream client says about decoding compressed bodies. */
  readonly decodesCompressedBodies?: boolean;
  /** The first server refuses every connection (nothing listens on its port). */
  readonly refuseFirst?: boolean;
  readonly retries?: number;
  readonly retryBufferBytes?: number;
  readonly retryOnStatus?: readonly number[];
  /** Further settings (algorithm, sticky sessions, hash key...). */
  readonly config?: Partial<Config>;
}

/** The resilience settings a rig's options override. */
export function rigResilience(options: RigOptions): Config['resilience'] {
  return {
    ...RESILIENCE_DEFAULTS,
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.retryBufferBytes === undefined ? {} : { retryBufferBytes: options.retryBufferBytes }),
    ...(options.retryOnStatus === undefined ? {} : { retryOnStatus: options.retryOnStatus.map((n) => ({ from: n, to: n })) }),
  };
}

export interface ForwarderHarness {
  readonly name: string;
  rig(handler: UpstreamHandler, options?: RigOptions): Promise<Rig>;
  /** A rig whose server answers with something this path's runtime cannot represent to its client. */
  unrepresentableRig(): Promise<Rig>;
  /** A handler result that makes the server reset the connection before answering. */
  readonly reset: UpstreamHandler;
  /** How the exit records a server breaking off mid-body. */
  readonly midBodyResetOutcome: OutcomeKind;
  /** Whether the server's own reason phrase reaches the client. */
  readonly relaysReasonPhrase: boolean;
  /**
   * Whether a short lengthed body is collected whole before the head is sent (the Web path), so a server breaking it
   * off still gets a 502; Node's path writes it straight into the client's socket, where such a break is a reset.
   */
  readonly collectsShortBodies: boolean;
  /** Whether a client that left can still be handed a Response (the Web path returns one nobody reads). */
  readonly answersGoneClients: boolean;
}

/** Polls a condition across sockets and timers; true at once on the in-memory path. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`never true: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** activeConnections as the servers and the stats totals see it; both must always agree. */
export function active(rig: Rig): number {
  const stats = rig.stats();
  const perServer = stats.servers.reduce((sum, s) => sum + s.activeConnections, 0);
  assert.equal(perServer, stats.totals.activeConnections, 'per-server and total activeConnections disagree');
  assert.equal(rig.pool.servers.reduce((sum, s) => sum + s.inFlight, 0), perServer);
  return stats.totals.activeConnections;
}

/** Each exchange left through its single exit exactly once, with these outcomes. */
function exitedOnce(rig: Rig, outcomes: readonly OutcomeKind[]): void {
  assert.deepEqual(rig.records.map((r) => r.outcome), outcomes);
  assert.equal(new Set(rig.records.map((r) => r.requestId)).size, rig.records.length, 'an exchange exited twice');
}

const activeIs = (rig: Rig, n: number) => eventually(() => active(rig) === n, `activeConnections === ${n} (is ${active(rig)})`);

/** Every error Fairway answers itself has one shape: JSON `{error, requestId}`, not cached, the id also in a header. */
export async function errorOf(status: number, headers: Headers, body: string): Promise<string> {
  assert.match(headers.get('content-type') ?? '', /^application\/json/, `${status}: content-type`);
  assert.equal(headers.get('cache-control'), 'no-store', `${status}: cache-control`);
  const json = JSON.parse(body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(json).sort(), ['error', 'requestId'], `${status}: body ${body}`);
  assert.equal(typeof json.error, 'string');
  assert.equal(headers.get('x-request-id'), json.requestId, `${status}: x-request-id matches requestId`);
  return json.error as string;
}

const errorOfResponse = async (response: Response) => errorOf(response.status, response.headers, await response.text());

export function forwarderContract(harness: ForwarderHarness): void {
  const withRig = (name: string, handler: UpstreamHandler, options: RigOptions, body: (rig: Rig) => Promise<void>) =>
    test(name, async () => {
      const rig = await harness.rig(handler, options);
      try {
        await body(rig);
      } finally {
        await rig.close();
      }
    });

  describe(`forwarding contract: ${harness.name}`, () => {
    describe('request target and body', () => {
      withRig('the upstream URL is the server origin plus the request path and query, exactly', () => new Response('ok'), {}, async (rig) => {
        await (await rig.send('/a%2Fb//c?x=%20')).text();
        assert.equal(rig.calls[0]!.url, `${rig.servers[0]}/a%2Fb//c?x=%20`);
      });

      withRig(
        'method and request body are forwarded',
        async ({ init }) => new Response(`got ${init.method} ${await readText(init.body)}`, { status: 201 }),
        {},
        async (rig) => {
          const response = await rig.send('/items', { method: 'POST', body: 'hello upstream' });
          assert.equal(response.status, 201);
          assert.equal(await response.text(), 'got POST hello upstream');
        },
      );

      withRig(
        'a redirect from the server is passed to the client as is',
        () => new Response(null, { status: 302, headers: { location: '/elsewhere' } }),
        {},
        async (rig) => {
          const response = await rig.send('/old', { redirect: 'manual' });
          assert.equal(response.status, 302);
          assert.equal(response.headers.get('location'), '/elsewhere');
          await response.body?.cancel();
        },
      );

      withRig('status and status text come from the server', () => new Response('x', { status: 418, statusText: 'Short And Stout' }), {}, async (rig) => {
        const response = await rig.send('/');
        assert.equal(response.status, 418);
        // undici's `stream` does not hand over the reason phrase, so the Node path sends its server's standard one (RFC 9112 §4: clients ignore it).
        if (harness.relaysReasonPhrase) assert.equal(response.statusText, 'Short And Stout');
        await response.text();
      });
    });

    describe('headers', () => {
      withRig(
        'hop-by-hop response headers and those Connection names are removed; end-to-end ones pass',
        () =>
          new Response('ok', {
            headers: {
              connection: 'keep-alive, X-Hop',
              'x-hop': 'per-connection',
              'keep-alive': 'timeout=99',
              trailer: 'x-checksum',
              'proxy-authenticate': 'Basic',
              'content-type': 'text/plain',
              etag: '"v1"',
            },
          }),
        {},
        async (rig) => {
          const response = await rig.send('/');
          for (const name of ['x-hop', 'trailer', 'proxy-authenticate']) assert.equal(response.headers.get(name), null, name);
          // A runtime's own server may speak for its own connection (Connection: close, Keep-Alive: timeout=5), never with the server's values.
          assert.doesNotMatch(response.headers.get('connection') ?? '', /x-hop/i);
          assert.notEqual(response.headers.get('keep-alive'), 'timeout=99');
          assert.equal(response.headers.get('etag'), '"v1"');
          assert.equal(response.headers.get('via'), '1.1 fairway');
          assert.equal(await response.text(), 'ok');
        },
      );

      withRig(
        'several Set-Cookie headers stay separate',
        () => new Response('ok', { headers: [['set-cookie', 'a=1; Path=/; HttpOnly'], ['set-cookie', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT']] }),
        {},
        async (rig) => {
          const response = await rig.send('/');
          assert.deepEqual(response.headers.getSetCookie(), ['a=1; Path=/; HttpOnly', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT']);
          await response.text();
        },
      );

      // The bytes are not gzip: only the headers matter here, so the test client is never asked to decode them.
      const compressed = () => new Response('encoded bytes', { headers: { 'content-encoding': 'gzip', 'content-length': '13', 'content-type': 'text/plain' } });

      withRig('when the upstream client decodes compressed bodies, Content-Encoding and Content-Length are dropped', compressed, {
        decodesCompressedBodies: true,
      }, async (rig) => {
        const response = await rig.send('/', { headers: { 'accept-encoding': 'gzip' } });
        assert.equal(response.headers.get('content-encoding'), null);
        assert.equal(response.headers.get('content-length'), null);
        assert.equal(response.headers.get('content-type'), 'text/plain');
        assert.equal(await response.text(), 'encoded bytes');
      });

      withRig('when the upstream client passes compressed bytes through, Content-Encoding and Content-Length are kept', compressed, {
        decodesCompressedBodies: false,
      }, async (rig) => {
        const response = await rig.send('/', { headers: { 'accept-encoding': 'gzip' } });
        assert.equal(response.headers.get('content-encoding'), 'gzip');
        assert.equal(response.headers.get('content-length'), '13');
        await response.body?.cancel().catch(() => {});
      });
    });

    describe('in-flight accounting', () => {
      test('(a) counts 1 while the body streams and 0 once it has been read to the end', async () => {
        const body = controlledBody();
        const rig = await harness.rig(() => new Response(body.stream));
        try {
          assert.equal(active(rig), 0);
          const response = await rig.send('/stream');
          await activeIs(rig, 1);
          const reader = response.body!.getReader();
          body.push('chunk-1');
          assert.equal(new TextDecoder().decode((await reader.read()).value), 'chunk-1');
          assert.equal(active(rig), 1);
          body.close();
          assert.equal((await reader.read()).done, true);
          await activeIs(rig, 0);
          exitedOnce(rig, ['responded']);
        } finally {
          await rig.close();
        }
      });

      test('(b) a client cancelling the response body releases the count and cancels the upstream body', async () => {
        const body = controlledBody();
        const rig = await harness.rig(() => new Response(body.stream));
        try {
          const response = await rig.send('/stream');
          await activeIs(rig, 1);
          await response.body!.cancel('client left');
          await activeIs(rig, 0);
          await body.cancelled;
          assert.equal(rig.stats().totals.errors, 0);
          exitedOnce(rig, ['client_gone']);
        } finally {
          await rig.close();
        }
      });

      withRig(
        '(c) an upstream reset before headers, tried again on the only server up to RETRIES times, answers 502 in JSON, counts one error and a failure per try, and leaves the only server in rotation',
        harness.reset,
        {},
        async (rig) => {
          const response = await rig.send('/');
          assert.equal(response.status, 502);
          const error = await errorOfResponse(response);
          // Defect 8 (issue 8): a short reason, never the server's address or the library's error text.
          assert.equal(error, 'the upstream server could not be reached');
          assert.doesNotMatch(error, /127\.0\.0\.1|fetch|ECONN/);
          await activeIs(rig, 0);
          assert.equal(rig.pool.servers[0]!.healthy, true);
          assert.equal(rig.calls.length, 3, 'the first try and RETRIES=2 more: a reset may be a kept-alive connection the server was closing');
          const stats = rig.stats();
          assert.equal(stats.servers[0]!.consecutiveFailures, 3);
          assert.deepEqual({ requests: stats.totals.requests, errors: stats.totals.errors }, { requests: 1, errors: 1 });
          assert.deepEqual({ requests: stats.servers[0]!.requests, errors: stats.servers[0]!.errors }, { requests: 1, errors: 1 });
          exitedOnce(rig, ['unreachable']);
        },
      );

      withRig(
        '(d) an upstream that never answers gets 504 after upstreamTimeoutMs, is aborted, and the timeout counts towards its ejection',
        ({ init }) => untilAborted(init.signal),
        { upstreamTimeoutMs: 50 },
        async (rig) => {
          const pending = rig.send('/slow');
          await rig.call(1);
          assert.equal(active(rig), 1);
          const response = await pending;
          assert.equal(response.status, 504);
          assert.equal(await errorOfResponse(response), 'the upstream server did not answer in time');
          await eventually(() => rig.calls[0]!.init.signal.aborted, 'the upstream request was aborted');
          await activeIs(rig, 0);
          assert.equal(rig.pool.servers[0]!.healthy, true);
          assert.equal(rig.stats().servers[0]!.consecutiveFailures, 1);
          assert.equal(rig.stats().totals.errors, 1);
          exitedOnce(rig, ['timeout']);
        },
      );

      withRig(
        '(e) the client leaving before headers aborts the upstream request and counts no error',
        ({ init }) => untilAborted(init.signal),
        {},
        async (rig) => {
          const clientGone = new AbortController();
          const pending = rig.send('/', { signal: clientGone.signal }).then((r) => r.status, () => 'aborted');
          const call = await rig.call(1);
          assert.equal(active(rig), 1);
          clientGone.abort();
          assert.equal(await pending, harness.answersGoneClients ? 499 : 'aborted');
          await eventually(() => call.init.signal.aborted, 'the upstream request was aborted');
          await activeIs(rig, 0);
          const stats = rig.stats();
          assert.deepEqual({ requests: stats.totals.requests, errors: stats.totals.errors }, { requests: 1, errors: 0 });
          assert.equal(rig.pool.servers[0]!.healthy, true, 'a client leaving is not the server failing');
          assert.equal(stats.servers[0]!.responseTimeMs, null);
          exitedOnce(rig, ['client_gone']);
        },
      );

      test('(f) the client leaving while the body streams releases the count and aborts the upstream request', async () => {
        let body: ReturnType<typeof bodyTiedTo> | undefined;
        const rig = await harness.rig(({ init }) => {
          body = bodyTiedTo(init.signal);
          return new Response(body.stream);
        });
        try {
          const clientGone = new AbortController();
          const response = await rig.send('/stream', { signal: clientGone.signal });
          body!.push('partial');
          await activeIs(rig, 1);
          clientGone.abort();
          await activeIs(rig, 0);
          await eventually(() => rig.calls[0]!.init.signal.aborted, 'the upstream request was aborted');
          await response.body?.cancel().catch(() => {});
          assert.equal(active(rig), 0);
          assert.equal(rig.stats().totals.errors, 0);
        } finally {
          await rig.close();
        }
      });

      test('(g) an upstream body failing mid-stream makes the client read reject and releases the count', async () => {
        const body = controlledBody();
        const rig = await harness.rig(() => new Response(body.stream));
        try {
          const response = await rig.send('/stream');
          const reader = response.body!.getReader();
          body.push('first');
          await reader.read();
          assert.equal(active(rig), 1);
          body.error(new Error('upstream reset'));
          await assert.rejects(async () => {
            while (!(await reader.read()).done);
          });
          await activeIs(rig, 0);
          exitedOnce(rig, [harness.midBodyResetOutcome]);
        } finally {
          await rig.close();
        }
      });

      withRig(
        '(h) a HEAD response has no body, keeps its Content-Length, and releases at once',
        () => new Response(null, { headers: { 'content-length': '1234' } }),
        {},
        async (rig) => {
          const response = await rig.send('/file', { method: 'HEAD' });
          assert.equal(response.status, 200);
          assert.equal(await response.text(), '');
          assert.equal(response.headers.get('content-length'), '1234');
          await activeIs(rig, 0);
        },
      );

      for (const status of [204, 304]) {
        withRig(
          `(h) a ${status} response has no body and releases at once`,
          () => new Response(null, { status, headers: { etag: '"v1"' } }),
          {},
          async (rig) => {
            const response = await rig.send('/');
            assert.equal(response.status, status);
            assert.equal(await response.text(), '');
            assert.equal(response.headers.get('etag'), '"v1"');
            await activeIs(rig, 0);
          },
        );
      }

      test('concurrent streams each hold a count on their own server until they finish', async () => {
        const bodies = [controlledBody(), controlledBody()];
        let n = 0;
        const rig = await harness.rig(() => new Response(bodies[n++]!.stream), { servers: 2 });
        try {
          const first = await rig.send('/1');
          const second = await rig.send('/2');
          await eventually(() => rig.pool.servers.every((s) => s.inFlight === 1), 'one in flight on each server');
          assert.equal(active(rig), 2);
          bodies[0]!.close();
          await first.text();
          await eventually(() => rig.pool.servers[0]!.inFlight === 0, 'first released');
          assert.equal(rig.pool.servers[1]!.inFlight, 1);
          bodies[1]!.close();
          await second.text();
          await activeIs(rig, 0);
        } finally {
          await rig.close();
        }
      });
    });

    describe('response buffering (RESPONSE_BUFFER_BYTES)', () => {
      const lengthed = (body: ReturnType<typeof controlledBody>, length: number, headers: Record<string, string> = {}) => () =>
        new Response(body.stream, { headers: { 'content-length': String(length), 'content-type': 'text/plain', ...headers } });

      test('a short body with a Content-Length is read whole and its exchange ends before the client reads it', async () => {
        const body = controlledBody();
        const rig = await harness.rig(lengthed(body, 10));
        try {
          const pending = rig.send('/short');
          await rig.call(1);
          body.push('hello');
          await activeIs(rig, 1);
          body.push('world');
          body.close();
          // The server's side is over: the lease is released and the exit recorded while the client has read nothing.
          await activeIs(rig, 0);
          exitedOnce(rig, ['responded']);
          assert.equal(rig.records[0]!.status, 200);
          const response = await pending;
          assert.equal(response.headers.get('content-length'), '10');
          assert.equal(response.headers.get('via'), '1.1 fairway');
          assert.equal(await response.text(), 'helloworld');
          assert.deepEqual({ requests: rig.stats().totals.requests, errors: rig.stats().totals.errors }, { requests: 1, errors: 0 });
        } finally {
          await rig.close();
        }
      });

      for (
        const [what, limit, headers] of [
          ['a body longer than RESPONSE_BUFFER_BYTES', 8, {}],
          ['any body with RESPONSE_BUFFER_BYTES=0', 0, {}],
          ['an event stream, even with a short Content-Length', 65_536, { 'content-type': 'text/event-stream' }],
        ] as const
      ) {
        test(`${what} streams, counted until its last byte`, async () => {
          const body = controlledBody();
          const rig = await harness.rig(lengthed(body, 10, headers), { config: { responseBufferBytes: limit } });
          try {
            // With a length, Node sends the head with the first bytes: push them before awaiting the response.
            const pending = rig.send('/long');
            await rig.call(1);
            body.push('hello');
            const reader = (await pending).body!.getReader();
            assert.equal(new TextDecoder().decode((await reader.read()).value), 'hello');
            assert.equal(active(rig), 1);
            body.push('world');
            body.close();
            let rest = '';
            for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
            assert.equal(rest, 'world');
            await activeIs(rig, 0);
            exitedOnce(rig, ['responded']);
          } finally {
            await rig.close();
          }
        });
      }

      test('a short body the server breaks off is answered 502 in JSON (nothing was sent yet) and counted as an error', {
        skip: harness.collectsShortBodies ? false : 'Node writes a short body straight into the socket: a break is a reset, as (g) pins',
      }, async () => {
        const body = controlledBody();
        const rig = await harness.rig(lengthed(body, 10));
        try {
          const pending = rig.send('/broken');
          await rig.call(1);
          body.push('hello');
          await activeIs(rig, 1);
          body.error(new Error('upstream reset'));
          const response = await pending;
          assert.equal(response.status, 502);
          assert.match(await errorOfResponse(response), /broke off its response/);
          await activeIs(rig, 0);
          exitedOnce(rig, ['upstream_reset']);
          assert.equal(rig.stats().totals.errors, 1);
        } finally {
          await rig.close();
        }
      });

      withRig(
        'several Set-Cookie headers stay separate on a buffered response',
        () =>
          new Response('ok', {
            headers: [['content-length', '2'], ['set-cookie', 'a=1; Path=/'], ['set-cookie', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT']],
          }),
        {},
        async (rig) => {
          const response = await rig.send('/');
          assert.deepEqual(response.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT']);
          assert.equal(await response.text(), 'ok');
          exitedOnce(rig, ['responded']);
        },
      );

      withRig(
        'a HEAD answer with a short Content-Length is sent without a body and not read',
        () => new Response(null, { headers: { 'content-length': '5' } }),
        {},
        async (rig) => {
          const response = await rig.send('/file', { method: 'HEAD' });
          assert.equal(response.headers.get('content-length'), '5');
          assert.equal(await response.text(), '');
          await activeIs(rig, 0);
          exitedOnce(rig, ['responded']);
        },
      );
    });

    describe('responses and metrics', () => {
      withRig(
        'a 5xx from the server is passed on, counted as an error, but does not take the server out',
        () => new Response('upstream broke', { status: 503 }),
        {},
        async (rig) => {
          const response = await rig.send('/');
          assert.equal(response.status, 503);
          assert.equal(await response.text(), 'upstream broke');
          assert.equal(rig.stats().totals.errors, 1);
          assert.equal(rig.pool.servers[0]!.healthy, true);
        },
      );

      test('a GET reset by one server before its head is retried on another: the client gets the answer, each server one try', async () => {
        const rig: Rig = await harness.rig((call) => (call.url.startsWith(rig.servers[0]!) ? harness.reset(call) : new Response('from B')), { servers: 2 });
        try {
          const response = await rig.send('/x');
          assert.equal(response.status, 200);
          assert.equal(await response.text(), 'from B');
          assert.deepEqual(rig.calls.map((c) => c.url.startsWith(rig.servers[0]!)), [true, false]);
          await activeIs(rig, 0);
          const [a, b] = rig.stats().servers;
          assert.deepEqual([a!.retriesAway, b!.retriesTo], [1, 1]);
          exitedOnce(rig, ['responded']);
        } finally {
          await rig.close();
        }
      });

      test('a GET reset by the only server is tried again there: a new connection cures a kept-alive one closed under it', async () => {
        let calls = 0;
        const rig: Rig = await harness.rig((call) => (calls++ === 0 ? harness.reset(call) : new Response('second try')), {});
        try {
          const response = await rig.send('/x');
          assert.equal(response.status, 200);
          assert.equal(await response.text(), 'second try');
          assert.equal(rig.calls.length, 2);
          await activeIs(rig, 0);
          exitedOnce(rig, ['responded']);
        } finally {
          await rig.close();
        }
      });

      test('a small POST body is buffered and sent again to another server when the first refuses the connection', async () => {
        const rig: Rig = await harness.rig(async (call) => new Response(`B got ${await readText(call.init.body)}`), { servers: 2, refuseFirst: true });
        try {
          const response = await rig.send('/x', { method: 'POST', body: 'payload' });
          assert.equal(await response.text(), 'B got payload');
          assert.equal(rig.calls.filter((c) => c.url.startsWith(rig.servers[1]!)).length, 1);
          await activeIs(rig, 0);
        } finally {
          await rig.close();
        }
      });

      test('a POST reset by its server is not retried: the request may have reached it', async () => {
        const rig: Rig = await harness.rig((call) => (call.url.startsWith(rig.servers[0]!) ? harness.reset(call) : new Response('from B')), { servers: 2 });
        try {
          assert.equal((await rig.send('/x', { method: 'POST', body: 'payload' })).status, 502);
          assert.equal(rig.calls.length, 1);
          await activeIs(rig, 0);
        } finally {
          await rig.close();
        }
      });

      test('a body over RETRY_BUFFER_BYTES streams and is never sent twice', async () => {
        const rig: Rig = await harness.rig(() => new Response('from B'), { servers: 2, retryBufferBytes: 4, refuseFirst: true });
        try {
          assert.equal((await rig.send('/x', { method: 'PUT', body: 'longer than four' })).status, 502);
          assert.equal(rig.calls.filter((c) => c.url.startsWith(rig.servers[1]!)).length, 0);
          await activeIs(rig, 0);
        } finally {
          await rig.close();
        }
      });

      test('no retry once the response head reached the client: a server breaking off mid-body is not retried', async () => {
        const body = controlledBody();
        const rig: Rig = await harness.rig((call) => (call.url.startsWith(rig.servers[0]!) ? new Response(body.stream) : new Response('from B')), {
          servers: 2,
        });
        try {
          const response = await rig.send('/x');
          const reader = response.body!.getReader();
          body.push('first');
          await reader.read();
          body.error(new Error('upstream reset'));
          await assert.rejects(async () => {
            while (!(await reader.read()).done);
          });
          await activeIs(rig, 0);
          assert.equal(rig.calls.length, 1);
        } finally {
          await rig.close();
        }
      });

      test('RETRY_ON_STATUS: a 503 is retried on another server and never reaches the client', async () => {
        const rig: Rig = await harness.rig(
          (call) => (call.url.startsWith(rig.servers[0]!) ? new Response('draining', { status: 503 }) : new Response('from B')),
          { servers: 2, retryOnStatus: [503] },
        );
        try {
          const response = await rig.send('/x');
          assert.equal(await response.text(), 'from B');
          assert.equal(rig.calls.length, 2);
          await activeIs(rig, 0);
        } finally {
          await rig.close();
        }
      });

      test('RETRIES=0: a failure is answered, not retried', async () => {
        const rig: Rig = await harness.rig((call) => (call.url.startsWith(rig.servers[0]!) ? harness.reset(call) : new Response('from B')), {
          servers: 2,
          retries: 0,
        });
        try {
          assert.equal((await rig.send('/x')).status, 502);
          assert.equal(rig.calls.length, 1);
        } finally {
          await rig.close();
        }
      });

      withRig('with no healthy server the balancer answers 503 in JSON itself and counts an error', () => new Response('ok'), {}, async (rig) => {
        rig.health.markUnhealthy(rig.pool.servers[0]!, 'test');
        const response = await rig.send('/');
        assert.equal(response.status, 503);
        await errorOfResponse(response);
        assert.equal(rig.calls.length, 0);
        const stats = rig.stats();
        assert.deepEqual(stats.totals, { requests: 1, errors: 1, errorRate: 1, activeConnections: 0, websockets: 0 });
        assert.equal(stats.servers[0]!.requests, 0);
      });
    });

    describe('selection: sticky sessions and hash keys', () => {
      const STICKY = { cookieName: 'fw', maxAgeSeconds: undefined, sameSite: 'Lax', secure: 'auto' } as const;
      const sticky: RigOptions = { servers: 3, config: { sticky: STICKY } };
      /** The server (in the rig's pool) that received call `i`. */
      const serverOf = (rig: Rig, i: number) => rig.pool.servers.find((s) => s.url === new URL(rig.calls[i]!.url).origin)!;
      const stickyCookies = (response: Response) => response.headers.getSetCookie().filter((line) => line.startsWith('fw='));
      const appCookie = () => new Response('ok', { headers: { 'set-cookie': 'app=1; Path=/' } });

      withRig(
        "sticky: the first response sets the cookie naming its server, beside the server's own; requests carrying it stay there",
        appCookie,
        sticky,
        async (rig) => {
          const first = await rig.send('/');
          await first.text();
          const server = serverOf(rig, 0);
          assert.deepEqual(first.headers.getSetCookie(), ['app=1; Path=/', `fw=${server.serverId}; Path=/; HttpOnly; SameSite=Lax`]);
          for (let i = 1; i <= 6; i++) {
            const response = await rig.send('/', { headers: { cookie: `theme=dark; fw=${server.serverId}` } });
            await response.text();
            assert.equal(serverOf(rig, i), server, `request ${i} left the cookie's server`);
            assert.deepEqual(stickyCookies(response), [], 'a cookie that already names the server is not re-set');
          }
          // Without the cookie, round robin moves on: the cookie, not chance, kept the requests there.
          await (await rig.send('/')).text();
          assert.notEqual(serverOf(rig, 7), server);
        },
      );

      withRig('sticky: a forged or unknown cookie is ignored, routes only inside the pool, and is re-set', appCookie, sticky, async (rig) => {
        const forged = ['0123456789abcdef', 'http://127.0.0.1:1', '../../etc', rig.pool.servers[0]!.serverId.toUpperCase()];
        for (const [i, value] of forged.entries()) {
          const response = await rig.send('/', { headers: { cookie: `fw=${value}` } });
          await response.text();
          const server = serverOf(rig, i);
          assert.ok(rig.servers.includes(server.url), `${value} sent the request to ${rig.calls[i]!.url}`);
          assert.deepEqual(stickyCookies(response), [`fw=${server.serverId}; Path=/; HttpOnly; SameSite=Lax`], value);
        }
        assert.equal(new Set(rig.calls.map((_, i) => serverOf(rig, i))).size, 3, 'forged cookies were balanced like cookie-less requests');
      });

      withRig("sticky: when the cookie's server is unhealthy its holders move and the cookie is re-set", appCookie, sticky, async (rig) => {
        const [a] = rig.pool.servers;
        rig.health.markUnhealthy(a!, 'test');
        const response = await rig.send('/', { headers: { cookie: `fw=${a!.serverId}` } });
        await response.text();
        const moved = serverOf(rig, 0);
        assert.notEqual(moved, a);
        assert.deepEqual(stickyCookies(response), [`fw=${moved.serverId}; Path=/; HttpOnly; SameSite=Lax`]);
      });

      withRig('sticky: with STICKY_COOKIE_MAX_AGE and SameSite=None the cookie carries Max-Age and Secure', () => new Response('ok'), {
        config: { sticky: { ...STICKY, maxAgeSeconds: 3600, sameSite: 'None' } },
      }, async (rig) => {
        const response = await rig.send('/');
        await response.text();
        assert.deepEqual(stickyCookies(response), [`fw=${rig.pool.servers[0]!.serverId}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=None`]);
      });

      /** The server a fresh selector over the same configuration maps `key` to: the mapping depends on configuration alone. */
      const mappedServer = (rig: Rig, key: string) => {
        const pool = new ServerPool(serverConfigs(rig.servers));
        const url = createSelector(pool, { algorithm: 'consistent_hash' }).pick({ hashKey: key })!.url;
        return rig.pool.servers.find((s) => s.url === url)!;
      };

      withRig('consistent_hash: each key goes to the server the configuration maps it to, every time', () => new Response('ok'), {
        servers: 3,
        config: { algorithm: 'consistent_hash', hashKey: { kind: 'header', name: 'x-user' } },
      }, async (rig) => {
        const keys = Array.from({ length: 12 }, (_, i) => `user-${i}`);
        let n = 0;
        for (const round of [1, 2]) {
          for (const key of keys) {
            await (await rig.send('/', { headers: { 'x-user': key } })).text();
            assert.equal(serverOf(rig, n++), mappedServer(rig, key), `${key}, round ${round}`);
          }
        }
        assert.ok(new Set(keys.map((key) => mappedServer(rig, key))).size > 1, 'twelve keys all mapped to one server');
      });

      withRig(
        'consistent_hash: HASH_KEY=ip with TRUST_PROXY hashes the first X-Forwarded-For address',
        () => new Response('ok'),
        { servers: 3, config: { algorithm: 'consistent_hash', hashKey: { kind: 'ip' }, trustProxy: true } },
        async (rig) => {
          const clients = Array.from({ length: 8 }, (_, i) => `198.51.100.${i + 1}`);
          for (const [i, client] of clients.entries()) {
            await (await rig.send('/', { headers: { 'x-forwarded-for': `${client}, 10.0.0.1` } })).text();
            assert.equal(serverOf(rig, i), mappedServer(rig, client), client);
          }
        },
      );
    });

    describe('a response the runtime cannot represent', () => {
      test('is answered 502 in JSON, counted as one request and one error, logged, and its slot released', async () => {
        const rig = await harness.unrepresentableRig();
        try {
          const response = await rig.send('/');
          assert.equal(response.status, 502);
          assert.match(await errorOfResponse(response), /cannot be forwarded/);
          await activeIs(rig, 0);
          const stats = rig.stats();
          assert.deepEqual({ requests: stats.totals.requests, errors: stats.totals.errors }, { requests: 1, errors: 1 });
          assert.deepEqual({ requests: stats.servers[0]!.requests, errors: stats.servers[0]!.errors }, { requests: 1, errors: 1 });
          exitedOnce(rig, ['unrepresentable']);
          assert.equal(rig.records[0]!.status, 502);
        } finally {
          await rig.close();
        }
      });
    });

    describe('requests refused or cut short by the client', () => {
      // CONNECT and TRACK never reach node:http's request handler (its parser answers them itself); the Web tests cover them.
      withRig('TRACE gets 405 in JSON before any server is chosen, which stays healthy', () => new Response('never'), {}, async (rig) => {
        for (const method of ['TRACE']) {
          const response = await rig.sendMethod(method, '/x');
          assert.equal(response.status, 405, method);
          assert.match(await errorOf(response.status, response.headers, response.body), new RegExp(method));
        }
        assert.equal(rig.calls.length, 0);
        assert.equal(rig.pool.servers[0]!.healthy, true);
      });

      withRig(
        'a client upload that breaks off counts as the client leaving, not as a server failure',
        async ({ init }) => {
          await readText(init.body);
          return new Response('unreachable');
        },
        {},
        async (rig) => {
          await rig.abandonUpload('/upload');
          await activeIs(rig, 0);
          assert.equal(rig.pool.servers[0]!.healthy, true);
          assert.equal(rig.stats().totals.errors, 0);
        },
      );

      for (const maxRequestBodyBytes of [undefined, 1_000_000]) {
        withRig(
          `an upload whose read fails counts as the client leaving, not as a server failure (${
            maxRequestBodyBytes === undefined ? 'no body limit' : 'metered body'
          })`,
          async ({ init }) => new Response(await readText(init.body)),
          { failUploadReads: true, maxRequestBodyBytes },
          async (rig) => {
            const status = await rig.send('/upload', { method: 'POST', body: 'some upload' }).then((r) => r.status, () => 'aborted');
            assert.equal(status, 499);
            await activeIs(rig, 0);
            assert.equal(rig.pool.servers[0]!.healthy, true);
            assert.equal(rig.stats().totals.errors, 0);
            exitedOnce(rig, ['client_gone']);
          },
        );
      }

      withRig(
        'a streamed body passing MAX_REQUEST_BODY_BYTES gets 413 and no error against the server',
        async ({ init }) => {
          await readText(init.body);
          return new Response('unreachable');
        },
        { maxRequestBodyBytes: 4 },
        async (rig) => {
          const body = new Blob(['0123456789']).stream();
          const response = await rig.send('/upload', { method: 'POST', body, duplex: 'half' } as RequestInit);
          assert.equal(response.status, 413);
          await errorOfResponse(response);
          await activeIs(rig, 0);
          assert.equal(rig.pool.servers[0]!.healthy, true);
          assert.equal(rig.stats().totals.errors, 0);
        },
      );

      withRig(
        'a declared Content-Length over the limit gets 413 without contacting any server',
        () => new Response('never'),
        { maxRequestBodyBytes: 4 },
        async (rig) => {
          const response = await rig.sendMethod('POST', '/upload', { body: '0123456789', headers: { 'content-length': '10' } });
          assert.equal(response.status, 413);
          await errorOf(response.status, response.headers, response.body);
          assert.equal(rig.calls.length, 0);
        },
      );
    });

    describe("limits (issue 8): each is one side's fault, and 0 means no limit", () => {
      withRig(
        'UPSTREAM_TIMEOUT_MS=0 sets no limit: a server answering after 100 ms is not cut',
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return new Response('late but fine');
        },
        { upstreamTimeoutMs: 0 },
        async (rig) => {
          const response = await rig.send('/');
          assert.equal(response.status, 200);
          assert.equal(await response.text(), 'late but fine');
        },
      );

      withRig(
        'UPSTREAM_TIMEOUT_MS runs from the request being sent: an upload slower than it is not a 504, and the server stays healthy',
        async ({ init }) => new Response(`got ${await readText(init.body)}`),
        { upstreamTimeoutMs: 80 },
        async (rig) => {
          const parts = ['a', 'b', 'c', 'd'];
          const body = new ReadableStream<Uint8Array>({
            async pull(controller) {
              const part = parts.shift();
              if (part === undefined) return controller.close();
              await new Promise((resolve) => setTimeout(resolve, 50));
              controller.enqueue(new TextEncoder().encode(part));
            },
          });
          const response = await rig.send('/upload', { method: 'POST', body, duplex: 'half' } as RequestInit);
          assert.equal(response.status, 200);
          assert.equal(await response.text(), 'got abcd');
          assert.equal(rig.pool.servers[0]!.healthy, true);
        },
      );

      withRig(
        'CLIENT_BODY_TIMEOUT_MS: a client that stops sending its body gets 408; no error against the server, count back to 0',
        // A real upstream client rejects once its signal aborts, as this one does.
        async ({ init }) => new Response(`got ${await Promise.race([readText(init.body), untilAborted(init.signal)])}`),
        { clientBodyTimeoutMs: 80 },
        async (rig) => {
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('first part, then silence'));
            },
          });
          const response = await rig.send('/upload', { method: 'POST', body, duplex: 'half' } as RequestInit);
          assert.equal(response.status, 408);
          await errorOfResponse(response);
          await activeIs(rig, 0);
          assert.equal(rig.pool.servers[0]!.healthy, true, 'a client that stops sending is not the server failing');
          assert.equal(rig.stats().totals.errors, 0);
        },
      );

      withRig(
        'UPSTREAM_READ_TIMEOUT_MS: a server that goes quiet mid-body has the client connection cut, never ended as complete; count back to 0',
        ({ init }) => {
          const body = bodyTiedTo(init.signal);
          body.push('first part');
          return new Response(body.stream);
        },
        { upstreamReadTimeoutMs: 80 },
        async (rig) => {
          const response = await rig.send('/stream');
          assert.equal(response.status, 200);
          await assert.rejects(response.text());
          await activeIs(rig, 0);
        },
      );

      withRig(
        'UPSTREAM_READ_TIMEOUT_MS limits the gaps between body chunks, not the whole body: a steady stream outlasting it arrives whole',
        () => {
          let sent = 0;
          const stream = new ReadableStream<Uint8Array>({
            async pull(controller) {
              await new Promise((resolve) => setTimeout(resolve, 25));
              controller.enqueue(new TextEncoder().encode(`part ${sent}\n`));
              if (++sent === 12) controller.close();
            },
          });
          return new Response(stream);
        },
        { upstreamReadTimeoutMs: 200 },
        async (rig) => {
          const response = await rig.send('/stream');
          assert.equal(response.status, 200);
          assert.equal((await response.text()).split('\n').length, 13);
          await activeIs(rig, 0);
        },
      );

      withRig('an invalid Host gets 400 before any server is chosen (RFC 9110 §7.2)', () => new Response('never'), {}, async (rig) => {
        const answer = await rig.sendMethod('GET', '/public', { headers: { host: 'x/admin/secret?' } });
        assert.equal(answer.status, 400);
        assert.match(await errorOf(answer.status, answer.headers, answer.body), /Host/);
        assert.equal(rig.calls.length, 0);
      });

      withRig(
        "REWRITE_LOCATION: a redirect to the server's own origin points at the origin the client used",
        ({ url }) => new Response(null, { status: 302, headers: { location: `${new URL(url).origin}/next?x=1` } }),
        {},
        async (rig) => {
          const answer = await rig.sendMethod('GET', '/', { headers: { host: 'public.example:8080' } });
          assert.equal(answer.status, 302);
          assert.equal(answer.headers.get('location'), 'http://public.example:8080/next?x=1');
        },
      );

      withRig(
        'a 204 loses a Content-Length the server sent (RFC 9110 §8.6)',
        () => new Response(null, { status: 204, headers: { 'x-kept': 'yes', 'content-length': '0' } }),
        {},
        async (rig) => {
          const response = await rig.send('/');
          assert.equal(response.status, 204);
          assert.equal(response.headers.get('x-kept'), 'yes');
          assert.equal(response.headers.get('content-length'), null);
        },
      );
    });
  });
}

/** Server configs for a rig: `count` origins, weight 1 unless given. */
export function serverConfigs(origins: readonly string[], weights: readonly number[] = []): ServerConfig[] {
  return origins.map((url, i) => ({ url, weight: weights[i] ?? 1 }));
}
