/** The opening handshake's header rules (RFC 9110 §7.8, RFC 6455 §4) and close-code mapping (RFC 6455 §7.4). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canSendCloseCode, closeReason, relayedClose } from '../../src/core/proxy/websocket/close-codes.ts';
import {
  describeRefusedHandshake,
  isWebSocketUpgrade,
  parseSubprotocols,
  prepareUpgradeRequestHeaders,
  prepareUpgradeResponseHeaders,
  relayAcceptHeaders,
  relayClientOptions,
  requestedUpgrade,
  webSocketUrl,
} from '../../src/core/proxy/websocket/handshake.ts';
import { classifyFailure } from '../../src/core/proxy/classify-attempt.ts';

const RULES = { trustProxy: false, preserveHost: false };
const handshake = () =>
  new Headers({
    host: 'proxy.example',
    connection: 'keep-alive, Upgrade',
    upgrade: 'websocket',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-version': '13',
    'sec-websocket-protocol': 'graphql-ws,other',
    'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
    origin: 'https://app.example',
    cookie: 'session=1',
    'x-forwarded-for': '6.6.6.6',
  });

describe('which requests ask for an upgrade', () => {
  test('Upgrade counts only when Connection names "upgrade" (RFC 9110 §7.8), in any case', () => {
    assert.equal(requestedUpgrade(new Headers({ upgrade: 'websocket' })), undefined);
    assert.equal(requestedUpgrade(new Headers({ connection: 'UPGRADE', upgrade: 'WebSocket' })), 'WebSocket');
    assert.equal(requestedUpgrade(new Headers({ connection: 'keep-alive, upgrade' })), undefined, 'no Upgrade header');
  });

  test('h2c is never tunnelled (RFC 9113 §3.1 deprecates it)', () => {
    assert.equal(requestedUpgrade(new Headers({ connection: 'upgrade, http2-settings', upgrade: 'h2c' })), undefined);
    assert.equal(requestedUpgrade(new Headers({ connection: 'upgrade', upgrade: 'h2c, foo/2' })), 'foo/2');
  });

  test('a WebSocket handshake is a GET whose upgrade names websocket (RFC 6455 §4.2.1)', () => {
    assert.equal(isWebSocketUpgrade('GET', handshake()), true);
    assert.equal(isWebSocketUpgrade('POST', handshake()), false);
    assert.equal(isWebSocketUpgrade('GET', new Headers({ connection: 'upgrade', upgrade: 'foo' })), false);
  });

  test('subprotocols are read with or without spaces after the commas', () => {
    assert.deepEqual(parseSubprotocols('graphql-ws,other'), ['graphql-ws', 'other']);
    assert.deepEqual(parseSubprotocols(' a , b,,c '), ['a', 'b', 'c']);
    assert.deepEqual(parseSubprotocols(null), []);
  });
});

describe('headers of a tunnelled upgrade (Node)', () => {
  test('the request keeps Upgrade, Connection: upgrade and every Sec-WebSocket-* header, after the usual rules', () => {
    const headers = handshake();
    prepareUpgradeRequestHeaders(headers, { client: { address: '10.0.0.9' }, requestId: 'rid' }, RULES, 'websocket');
    assert.equal(headers.get('connection'), 'upgrade');
    assert.equal(headers.get('upgrade'), 'websocket');
    assert.equal(headers.get('sec-websocket-key'), 'dGhlIHNhbXBsZSBub25jZQ==');
    assert.equal(headers.get('sec-websocket-protocol'), 'graphql-ws,other');
    assert.equal(headers.get('sec-websocket-extensions'), 'permessage-deflate; client_max_window_bits');
    assert.equal(headers.get('x-forwarded-for'), '10.0.0.9', 'a forged X-Forwarded-For is replaced');
    assert.equal(headers.get('via'), '1.1 fairway');
    assert.equal(headers.get('x-request-id'), 'rid');
    assert.equal(headers.get('keep-alive'), null);
    assert.equal(headers.has('host'), false, 'the server gets its own host');
  });

  test('headers the client named in Connection are still removed', () => {
    const headers = new Headers({ connection: 'upgrade, x-hop', upgrade: 'websocket', 'x-hop': '1' });
    prepareUpgradeRequestHeaders(headers, { client: { address: undefined }, requestId: 'rid' }, RULES, 'websocket');
    assert.equal(headers.has('x-hop'), false);
  });

  test("the server's 101 keeps its own headers, Upgrade and Connection: upgrade, and gains Via and the request id", () => {
    const headers = new Headers({
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-accept': 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
      'sec-websocket-protocol': 'graphql-ws',
      'set-cookie': 'a=1',
      'keep-alive': 'timeout=5',
    });
    prepareUpgradeResponseHeaders(headers, 'rid');
    assert.equal(headers.get('upgrade'), 'websocket');
    assert.equal(headers.get('connection'), 'upgrade');
    assert.equal(headers.get('sec-websocket-accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    assert.equal(headers.get('sec-websocket-protocol'), 'graphql-ws');
    assert.equal(headers.get('set-cookie'), 'a=1');
    assert.equal(headers.get('keep-alive'), null);
    assert.equal(headers.get('via'), '1.1 fairway');
    assert.equal(headers.get('x-request-id'), 'rid');
  });
});

describe('headers of a relayed handshake (Deno, Bun)', () => {
  test("the relay's client sends the end-to-end headers and offers the client's subprotocols, but makes its own key, version and extensions", () => {
    const headers = handshake();
    const protocols = parseSubprotocols(headers.get('sec-websocket-protocol'));
    prepareUpgradeRequestHeaders(headers, { client: { address: '10.0.0.9' }, requestId: 'rid' }, RULES, 'websocket');
    const options = relayClientOptions(headers, protocols);
    assert.deepEqual(options.protocols, ['graphql-ws', 'other']);
    assert.deepEqual(Object.keys(options.headers).sort(), [
      'cookie',
      'origin',
      'via',
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-proto',
      'x-request-id',
    ]);
  });

  test("the relay's 101 carries the server's chosen subprotocol, Via and the request id", () => {
    const accepted = relayAcceptHeaders('graphql-ws', ['graphql-ws', 'other'], 'rid');
    assert.equal(accepted.ok, true);
    if (!accepted.ok) return;
    assert.equal(accepted.headers.get('sec-websocket-protocol'), 'graphql-ws');
    assert.equal(accepted.headers.get('via'), '1.1 fairway');
    assert.equal(accepted.headers.get('x-request-id'), 'rid');
    const none = relayAcceptHeaders('', ['graphql-ws'], 'rid');
    assert.equal(none.ok && none.headers.has('sec-websocket-protocol'), false);
  });

  test('a subprotocol the client never offered is refused with a reason (RFC 6455 §4.1)', () => {
    const refused = relayAcceptHeaders('mqtt', ['graphql-ws'], 'rid');
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    assert.match(refused.reason, /"mqtt", which the client did not offer/);
  });

  test("a refused handshake's status is read from Deno's and Bun's error messages where present", () => {
    assert.equal(describeRefusedHandshake('NetworkError: failed to connect to WebSocket: Invalid status code: 403').status, 403);
    assert.equal(describeRefusedHandshake("WebSocket connection to 'ws://x/deny' failed: Expected 101 status code: 403").status, 403);
    const unknown = describeRefusedHandshake('connection refused');
    assert.equal(unknown.status, undefined);
    assert.match(unknown.reason, /connection refused/);
    // A failed TCP connection, in Deno's and Bun's words, is named as refused: the lifecycle retries it.
    for (
      const message of [
        'NetworkError: failed to connect to WebSocket: tcp connect error',
        "WebSocket connection to 'ws://x/' failed: Failed to connect (ECONNREFUSED)",
      ]
    ) {
      assert.equal(classifyFailure(new Error(describeRefusedHandshake(message).reason), undefined, false), 'connect_refused', message);
    }
  });

  test('the WebSocket URL is the server origin with ws: or wss: and the request target byte for byte', () => {
    assert.equal(webSocketUrl('http://10.0.0.1:5001', '/chat?room=%2F1'), 'ws://10.0.0.1:5001/chat?room=%2F1');
    assert.equal(webSocketUrl('https://api.example', '/x'), 'wss://api.example/x');
  });
});

describe('close codes (RFC 6455 §7.4)', () => {
  test('what each API may send: RFC 6455 codes, or only 1000 and 3000-4999 through a WHATWG client', () => {
    for (const code of [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999]) assert.equal(canSendCloseCode(code, 'rfc6455'), true, String(code));
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) assert.equal(canSendCloseCode(code, 'rfc6455'), false, String(code));
    for (const code of [1001, 1008, 1011]) assert.equal(canSendCloseCode(code, 'whatwg'), false, String(code));
    for (const code of [1000, 3000, 4001]) assert.equal(canSendCloseCode(code, 'whatwg'), true, String(code));
  });

  test('1005, 1006 and 1015 are never sent on', () => {
    assert.deepEqual(relayedClose(1005, '', 'client', 'rfc6455'), { code: undefined, reason: '' });
    assert.equal(relayedClose(1006, '', 'client', 'rfc6455').code, 1014);
    assert.equal(relayedClose(1015, '', 'server', 'rfc6455').code, 1001);
  });

  test('valid codes pass unchanged where the API allows them, else become 1000 with the reason kept', () => {
    assert.deepEqual(relayedClose(1011, 'oops', 'client', 'rfc6455'), { code: 1011, reason: 'oops' });
    assert.deepEqual(relayedClose(1011, 'oops', 'server', 'whatwg'), { code: 1000, reason: 'oops' });
    assert.deepEqual(relayedClose(4002, 'custom', 'server', 'whatwg'), { code: 4002, reason: 'custom' });
  });

  test('a reason is cut to 123 UTF-8 bytes without splitting a character (RFC 6455 §5.5)', () => {
    assert.equal(closeReason('ok'), 'ok');
    const cut = closeReason('é'.repeat(100));
    assert.equal(new TextEncoder().encode(cut).length, 122);
    assert.equal(cut, 'é'.repeat(61));
  });
});
