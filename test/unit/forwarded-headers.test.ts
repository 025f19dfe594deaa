/** Header rules applied to forwarded requests and responses: X-Forwarded-*, Via, request id, Host. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isForwardingHeader, prepareClientResponseHeaders, prepareUpstreamRequestHeaders, requestIdFor } from '../../src/core/proxy/forwarded-headers.ts';
import { NodeHeaders } from '../../src/runtimes/node/node-headers.ts';

const client = { address: '192.0.2.7' };
const untrusted = { trustProxy: false, preserveHost: false };
const trusted = { trustProxy: true, preserveHost: false };

function upstreamHeaders(init: Record<string, string>, options = untrusted, address: string | undefined = client.address): Headers {
  const headers = new Headers(init);
  prepareUpstreamRequestHeaders(headers, { client: { address }, requestId: 'rid-1' }, options);
  return headers;
}

describe('forwarding headers without TRUST_PROXY', () => {
  test('replace client-sent X-Forwarded-* and Forwarded with what this hop saw', () => {
    const h = upstreamHeaders({
      host: 'front.example',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'forged.example',
      forwarded: 'for=6.6.6.6',
    });
    assert.equal(h.get('x-forwarded-for'), '192.0.2.7');
    assert.equal(h.get('x-forwarded-proto'), 'http');
    assert.equal(h.get('x-forwarded-host'), 'front.example');
    assert.equal(h.get('forwarded'), null);
  });

  test('write the IPv4 form of an IPv4-mapped IPv6 peer address', () => {
    assert.equal(upstreamHeaders({ host: 'h' }, untrusted, '::ffff:10.1.2.3').get('x-forwarded-for'), '10.1.2.3');
    assert.equal(upstreamHeaders({ host: 'h' }, untrusted, '::1').get('x-forwarded-for'), '::1');
  });
});

describe('forwarding headers with TRUST_PROXY', () => {
  test('append the peer address to X-Forwarded-For and keep the proxy-supplied proto and host', () => {
    const h = upstreamHeaders(
      { host: 'inner.example', 'x-forwarded-for': '203.0.113.1, 198.51.100.2', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'outer.example' },
      trusted,
    );
    assert.equal(h.get('x-forwarded-for'), '203.0.113.1, 198.51.100.2, 192.0.2.7');
    assert.equal(h.get('x-forwarded-proto'), 'https');
    assert.equal(h.get('x-forwarded-host'), 'outer.example');
  });

  test('fill in proto and host when the proxy in front did not', () => {
    const h = upstreamHeaders({ host: 'inner.example' }, trusted);
    assert.equal(h.get('x-forwarded-for'), '192.0.2.7');
    assert.equal(h.get('x-forwarded-proto'), 'http');
    assert.equal(h.get('x-forwarded-host'), 'inner.example');
  });
});

describe('Via, Host and request id', () => {
  test('Via gains this hop on requests and responses, after any earlier hops', () => {
    assert.equal(upstreamHeaders({ host: 'h', via: '1.1 edge' }).get('via'), '1.1 edge, 1.1 fairway');
    const response = new Headers({ via: '1.0 origin-cache' });
    prepareClientResponseHeaders(response, 'rid-1', false);
    assert.equal(response.get('via'), '1.0 origin-cache, 1.1 fairway');
  });

  test('Host is left to the upstream client (the server own) unless PRESERVE_HOST keeps the client one', () => {
    assert.equal(upstreamHeaders({ host: 'front.example' }).get('host'), null);
    assert.equal(upstreamHeaders({ host: 'front.example' }, { trustProxy: false, preserveHost: true }).get('host'), 'front.example');
  });

  test('an incoming X-Request-Id is reused when usable, else a UUID is made', () => {
    assert.equal(requestIdFor(new Headers({ 'x-request-id': 'abc-123' })), 'abc-123');
    assert.match(requestIdFor(new Headers()), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.notEqual(requestIdFor(new Headers({ 'x-request-id': 'a b' })), 'a b');
    assert.notEqual(requestIdFor(new Headers({ 'x-request-id': 'x'.repeat(201) })), 'x'.repeat(201));
  });

  test('the request id goes upstream and back to the client', () => {
    assert.equal(upstreamHeaders({ host: 'h' }).get('x-request-id'), 'rid-1');
    const response = new Headers();
    prepareClientResponseHeaders(response, 'rid-1', false);
    assert.equal(response.get('x-request-id'), 'rid-1');
  });

  test('a body the upstream client decoded loses its encoding and length headers; an undecoded one keeps them', () => {
    const decoded = new Headers({ 'content-encoding': 'gzip', 'content-length': '20' });
    prepareClientResponseHeaders(decoded, 'r', true);
    assert.equal(decoded.get('content-encoding'), null);
    assert.equal(decoded.get('content-length'), null);
    const passed = new Headers({ 'content-encoding': 'gzip', 'content-length': '20' });
    prepareClientResponseHeaders(passed, 'r', false);
    assert.equal(passed.get('content-encoding'), 'gzip');
    assert.equal(passed.get('content-length'), '20');
  });
});

describe('spoofable forwarding headers (issue 8, defect 7)', () => {
  const SPOOFED = {
    'x-forwarded-port': '1',
    'x-forwarded-prefix': '/admin',
    'x-forwarded-server': 'evil',
    'x-forwarded-ssl': 'on',
    'x-real-ip': '6.6.6.6',
    x_forwarded_for: '6.6.6.6',
    'X_Real_IP': '6.6.6.6',
    'x-forwarded_host': 'evil.example',
    forwarded: 'for=6.6.6.6',
  };

  test('isForwardingHeader reads "_" as "-" and ignores case', () => {
    for (const name of ['Forwarded', 'X-Real-IP', 'x_real_ip', 'X-Forwarded-For', 'X_FORWARDED_FOR', 'x-forwarded-anything', 'X_Forwarded-Port']) {
      assert.equal(isForwardingHeader(name), true, name);
    }
    for (const name of ['x-forwardedfor', 'forwarded-for', 'x-real-ip-x', 'x-request-id', 'via', 'x-forwarded']) {
      assert.equal(isForwardingHeader(name), false, name);
    }
  });

  test('without TRUST_PROXY every forwarding header the client sent is removed, then For, Proto and Host are set', () => {
    const h = upstreamHeaders({ host: 'front.example', ...SPOOFED, 'x-keep': 'yes' });
    const forwarding = [...h.keys()].filter(isForwardingHeader).sort();
    assert.deepEqual(forwarding, ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);
    assert.equal(h.get('x-forwarded-for'), '192.0.2.7');
    assert.equal(h.get('x-forwarded-host'), 'front.example');
    assert.equal(h.get('x-keep'), 'yes');
  });

  test('without TRUST_PROXY and without a peer address or Host, the client-sent For and Host are gone, not kept', () => {
    const h = new Headers({ 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil' });
    prepareUpstreamRequestHeaders(h, { client: { address: undefined }, requestId: 'r' }, untrusted);
    assert.equal(h.get('x-forwarded-for'), null);
    assert.equal(h.get('x-forwarded-host'), null);
  });

  test('with TRUST_PROXY the hyphenated headers stay, the "_" spellings that alias them behind CGI go', () => {
    const h = upstreamHeaders({ host: 'h', 'x-forwarded-port': '443', 'x-real-ip': '203.0.113.1', x_forwarded_for: '6.6.6.6' }, trusted);
    assert.equal(h.get('x-forwarded-port'), '443');
    assert.equal(h.get('x-real-ip'), '203.0.113.1');
    assert.equal(h.get('x_forwarded_for'), null);
    assert.equal(h.get('x-forwarded-for'), '192.0.2.7');
  });

  test('the same rules hold over node:http header objects (NodeHeaders)', () => {
    const object: Record<string, string> = { host: 'front.example', ...Object.fromEntries(Object.entries(SPOOFED).map(([k, v]) => [k.toLowerCase(), v])) };
    const headers = new NodeHeaders(object);
    prepareUpstreamRequestHeaders(headers, { client, requestId: 'r' }, untrusted);
    assert.deepEqual(Object.keys(headers.object).filter(isForwardingHeader).sort(), ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);
  });
});

describe('X-Forwarded-Proto and VIA=off', () => {
  test('X-Forwarded-Proto is https when the client came over TLS, http otherwise', () => {
    const tls = new Headers({ host: 'h', 'x-forwarded-proto': 'http' });
    prepareUpstreamRequestHeaders(tls, { client: { address: '192.0.2.7', secure: true }, requestId: 'r' }, untrusted);
    assert.equal(tls.get('x-forwarded-proto'), 'https');
    assert.equal(upstreamHeaders({ host: 'h' }).get('x-forwarded-proto'), 'http');
    const trustedTls = new Headers({ host: 'h' });
    prepareUpstreamRequestHeaders(trustedTls, { client: { address: '192.0.2.7', secure: true }, requestId: 'r' }, trusted);
    assert.equal(trustedTls.get('x-forwarded-proto'), 'https');
  });

  test('VIA=off adds no Via in either direction and leaves an incoming one as it was', () => {
    const noVia = { trustProxy: false, preserveHost: false, via: false };
    assert.equal(upstreamHeaders({ host: 'h' }, noVia).get('via'), null);
    assert.equal(upstreamHeaders({ host: 'h', via: '1.1 edge' }, noVia).get('via'), '1.1 edge');
    const response = new Headers({ 'content-type': 'text/plain' });
    prepareClientResponseHeaders(response, 'r', false, { via: false });
    assert.equal(response.get('via'), null);
  });
});

describe('response framing (issue 8, defect 3)', () => {
  test('a response with both Transfer-Encoding and Content-Length loses Content-Length (RFC 9112 §6.3)', () => {
    const h = new Headers({ 'content-length': '5', 'transfer-encoding': 'chunked', 'content-type': 'text/plain' });
    prepareClientResponseHeaders(h, 'r', false);
    assert.equal(h.get('content-length'), null);
    assert.equal(h.get('transfer-encoding'), null, 'Transfer-Encoding is hop-by-hop: the runtime frames the body itself');
    assert.equal(h.get('content-type'), 'text/plain');
  });

  test('a response with Content-Length only keeps it', () => {
    const h = new Headers({ 'content-length': '5' });
    prepareClientResponseHeaders(h, 'r', false);
    assert.equal(h.get('content-length'), '5');
  });
});
