/** Header rules applied to forwarded requests and responses: X-Forwarded-*, Via, request id, Host. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareClientResponseHeaders, prepareUpstreamRequestHeaders, requestIdFor } from '../../src/core/proxy/forwarded-headers.ts';

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
