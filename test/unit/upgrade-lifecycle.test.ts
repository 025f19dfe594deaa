/** A WebSocket or Upgrade handshake as an Exchange: admission, the lease held for the tunnel's life, /lb/stats, shutdown, refusals. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assembleBalancer } from '../../src/core/balancer.ts';
import type { ExchangeRecord } from '../../src/core/proxy/exchange.ts';
import { describeError } from '../../src/core/proxy/describe-error.ts';
import { httpsRedirectHandler } from '../../src/core/proxy/https-redirect.ts';
import { TunnelRegistry } from '../../src/core/proxy/websocket/tunnels.ts';
import { admitUpgrade, handshakeRefused, refusalPassedOn, tunnelOpened } from '../../src/core/proxy/websocket/upgrade-exchange.ts';
import { FakeUpstream, testConfig } from './fakes.ts';

const SERVERS = [
  { url: 'http://127.0.0.1:1', weight: 1 },
  { url: 'http://127.0.0.1:2', weight: 1 },
];

function rig() {
  const records: ExchangeRecord[] = [];
  const { balancer } = assembleBalancer(
    testConfig({ servers: SERVERS, algorithm: 'least_connections' }),
    SERVERS,
    new FakeUpstream(() => new Response('x')),
    undefined,
    [
      { exchangeEnded: (r) => records.push(r) },
    ],
  );
  const handshake = (extra: Record<string, string> = {}) => {
    const headers = new Headers({ host: 'shop.example', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k', ...extra });
    const admitted = admitUpgrade(
      balancer.admission,
      { method: 'GET', target: '/chat?room=1', headers, client: { address: '192.0.2.1', secure: true } },
      balancer.tunnels,
    );
    assert.ok(!(admitted instanceof Promise), 'without MAX_REQUESTS_PER_SERVER admission never waits');
    return { headers, admitted };
  };
  return { balancer, records, handshake };
}

describe('upgrade lifecycle', () => {
  test('a handshake is admitted with the header rules applied and Connection/Upgrade put back for the next hop', () => {
    const { handshake } = rig();
    const { headers, admitted } = handshake();
    assert.ok(admitted?.ok);
    assert.equal(admitted.upgrade, 'websocket');
    assert.equal(headers.get('connection'), 'upgrade');
    assert.equal(headers.get('upgrade'), 'websocket');
    assert.equal(headers.get('x-forwarded-proto'), 'https');
    assert.equal(headers.get('sec-websocket-key'), 'k');
    assert.ok(headers.get('x-request-id'));
  });

  test('a request that asks for no upgrade, or only h2c, is not an upgrade', () => {
    const { balancer } = rig();
    for (const extra of [{ connection: 'keep-alive' }, { upgrade: 'h2c' }]) {
      const headers = new Headers({ host: 'x', connection: 'Upgrade', upgrade: 'websocket', ...extra });
      assert.equal(admitUpgrade(balancer.admission, { method: 'GET', target: '/', headers, client: { address: undefined } }, balancer.tunnels), undefined);
    }
  });

  test('an open tunnel counts as in flight and as a websocket until it ends, and steers least connections away', () => {
    const { balancer, records, handshake } = rig();
    const first = handshake().admitted;
    assert.ok(first?.ok);
    const end = tunnelOpened(first.exchange, balancer.tunnels, () => {});
    const stats = balancer.stats();
    assert.equal(stats.totals.activeConnections, 1);
    assert.equal(stats.totals.websockets, 1);
    const busy = stats.servers.find((s) => s.websockets === 1);
    assert.equal(busy?.url, first.exchange.server.url);
    const second = handshake().admitted;
    assert.ok(second?.ok);
    assert.notEqual(second.exchange.server.url, first.exchange.server.url, 'least connections sees the open tunnel');
    // The client left before the server answered: the tunnel code reports the failed attempt.
    second.exchange.clientGone();
    second.exchange.failed(new Error('aborted'));
    assert.equal(records.length, 1);
    end();
    end();
    const after = balancer.stats();
    assert.equal(after.totals.activeConnections, 0);
    assert.equal(after.totals.websockets, 0);
    assert.deepEqual(records.map((r) => [r.outcome, r.status]), [['client_gone', 499], ['responded', 101]]);
  });

  test('closeAll asks every open tunnel to close, and each leaves the registry when it has', () => {
    const tunnels = new TunnelRegistry();
    const server = { url: 'http://127.0.0.1:1' } as never;
    let asked = 0;
    const one = tunnels.opened(server, () => asked++);
    tunnels.opened(server, () => {
      asked++;
      throw new Error('already closing');
    });
    assert.equal(tunnels.count(server), 2);
    assert.equal(tunnels.closeAll(), 2);
    assert.equal(asked, 2);
    one.ended();
    assert.equal(tunnels.count(), 1);
  });

  test('once the listener closes at shutdown, open tunnels carry on, a new handshake gets 503, and idle() settles with the last tunnel', async () => {
    const { balancer, handshake } = rig();
    const first = handshake().admitted;
    assert.ok(first?.ok);
    const end = tunnelOpened(first.exchange, balancer.tunnels, () => {});
    balancer.drain();
    const during = handshake().admitted;
    assert.ok(during?.ok, 'during SHUTDOWN_DELAY_MS handshakes are still taken');
    tunnelOpened(during.exchange, balancer.tunnels, () => {})();
    balancer.stopAccepting();
    const late = handshake({ 'x-request-id': 'late-1' }).admitted;
    assert.ok(late !== undefined && !late.ok);
    assert.equal(late.answer.status, 503);
    assert.equal(late.answer.requestId, 'late-1');
    let idle = false;
    const settled = balancer.tunnels.idle().then(() => (idle = true));
    await Promise.resolve();
    assert.equal(idle, false, 'a tunnel is still open');
    assert.equal(balancer.inFlight(), 1, 'the drain counts the open tunnel');
    end();
    await settled;
    assert.equal(balancer.inFlight(), 0);
  });

  test('a refusal passed on (Node) counts with its status; one the runtime cannot show (Deno, Bun) is a 502 naming the reason', () => {
    const { records, handshake } = rig();
    const passed = handshake().admitted;
    assert.ok(passed?.ok);
    refusalPassedOn(passed.exchange, 403)();
    const hidden = handshake().admitted;
    assert.ok(hidden?.ok);
    const answer = handshakeRefused(hidden.exchange, 'the server refused the WebSocket handshake with status 403');
    assert.equal(answer?.status, 502);
    assert.match(answer?.error ?? '', /refused the WebSocket handshake with status 403/);
    assert.deepEqual(records.map((r) => [r.outcome, r.status]), [['responded', 403], ['unrepresentable', 502]]);
  });
});

describe('HTTP_REDIRECT_PORT handler', () => {
  test('answers 308 to the HTTPS port with the path and query as sent', () => {
    const response = httpsRedirectHandler(8443)(new Request('http://shop.example:8080/a/%2F?b=c', { headers: { host: 'shop.example:8080' } }));
    assert.equal(response.status, 308);
    assert.equal(response.headers.get('location'), 'https://shop.example:8443/a/%2F?b=c');
  });
});

describe('describeError: refused server certificates', () => {
  test('names a certificate refused by OpenSSL (Node, Bun) or rustls (Deno), wherever it sits in the cause chain', () => {
    const node = Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    assert.match(
      describeError(new TypeError('fetch failed', { cause: node })),
      /TLS certificate of the server not accepted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\).*UPSTREAM_CA_FILE/,
    );
    const deno = new TypeError('error sending request', { cause: new Error('client error (Connect): invalid peer certificate: UnknownIssuer') });
    assert.match(describeError(deno), /not accepted \(UnknownIssuer\)/);
    assert.equal(describeError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), 'ECONNREFUSED');
  });
});
