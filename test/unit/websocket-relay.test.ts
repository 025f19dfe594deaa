/** The WebSocket message relay (Deno, Bun): messages, closes, limits and shutdown, over fake sockets and a fake clock. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CloseCodeRange } from '../../src/core/proxy/websocket/close-codes.ts';
import {
  type Clock,
  messageBytes,
  type RelayEnd,
  type RelayLimits,
  type RelayMessage,
  type RelaySocket,
  type SendOutcome,
  WebSocketRelay,
} from '../../src/core/proxy/websocket/relay.ts';

class FakeSocket implements RelaySocket {
  readonly sent: RelayMessage[] = [];
  readonly closes: { code: number | undefined; reason: string | undefined }[] = [];
  buffered = 0;
  nextOutcome: SendOutcome = 'sent';
  terminated = false;
  readonly closeCodes: CloseCodeRange;

  constructor(closeCodes: CloseCodeRange = 'rfc6455') {
    this.closeCodes = closeCodes;
  }

  send(message: RelayMessage): SendOutcome {
    this.sent.push(message);
    this.buffered += messageBytes(message);
    return this.nextOutcome;
  }

  bufferedAmount(): number {
    return this.buffered;
  }

  close(code?: number, reason?: string): void {
    this.closes.push({ code, reason });
  }

  terminate(): void {
    this.terminated = true;
  }
}

class FakeClock implements Clock {
  time = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #next = 1;

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.time + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pending(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = until;
  }
}

const LIMITS: RelayLimits = { maxBufferedBytes: 1000, maxMessageBytes: 500, idleTimeoutMs: 0 };

function setup(options: { limits?: Partial<RelayLimits>; clientOpen?: boolean; serverCodes?: CloseCodeRange } = {}) {
  const client = new FakeSocket();
  const server = new FakeSocket(options.serverCodes);
  const clock = new FakeClock();
  const ends: RelayEnd[] = [];
  const relay = new WebSocketRelay({
    client,
    server,
    limits: { ...LIMITS, ...options.limits },
    clientOpen: options.clientOpen,
    clock,
    closeGraceMs: 100,
    onEnd: (end) => ends.push(end),
  });
  return { client, server, clock, ends, relay };
}

describe('WebSocketRelay', () => {
  test('passes text and binary messages both ways unchanged', () => {
    const { client, server, relay } = setup();
    const binary = new Uint8Array([1, 2, 3]);
    relay.message('client', 'hello');
    relay.message('client', binary);
    relay.message('server', 'back');
    assert.deepEqual(server.sent, ['hello', binary]);
    assert.equal(server.sent[1], binary);
    assert.deepEqual(client.sent, ['back']);
  });

  test('holds server messages until the client socket opens, then sends them in order', () => {
    const { client, relay } = setup({ clientOpen: false });
    relay.message('server', 'one');
    relay.message('server', 'two');
    assert.deepEqual(client.sent, []);
    relay.clientOpened();
    assert.deepEqual(client.sent, ['one', 'two']);
  });

  test('relays a close code and reason to the other side, and ends once both sides have closed', () => {
    const { client, server, ends, relay } = setup();
    relay.message('client', 'x');
    relay.closed('server', 4001, 'bye now');
    assert.deepEqual(client.closes, [{ code: 4001, reason: 'bye now' }]);
    assert.equal(ends.length, 0, 'not ended before the client has closed too');
    relay.closed('client', 4001, 'bye now');
    assert.equal(ends.length, 1);
    assert.deepEqual(ends[0], {
      cause: 'closed',
      initiator: 'server',
      code: 4001,
      messages: { fromClient: 1, fromServer: 0 },
      bytes: { fromClient: 1, fromServer: 0 },
    });
    assert.deepEqual(server.closes, [], 'the side that closed is not closed again');
  });

  test('a close without a status code (1005) is relayed as a close frame without one', () => {
    const { server, relay } = setup();
    relay.closed('client', 1005, '');
    assert.deepEqual(server.closes, [{ code: undefined, reason: undefined }]);
  });

  test('a server connection that dropped (1006) reaches the client as 1014, never as 1006', () => {
    const { client, relay } = setup();
    relay.closed('server', 1006, '');
    assert.deepEqual(client.closes, [{ code: 1014, reason: 'upstream connection lost' }]);
  });

  test('a client that vanished (Deno reports code 0) reaches the server as 1001, or 1000 through a WHATWG client', () => {
    const rfc = setup();
    rfc.relay.closed('client', 0, '');
    assert.deepEqual(rfc.server.closes, [{ code: 1001, reason: 'client connection lost' }]);
    const whatwg = setup({ serverCodes: 'whatwg' });
    whatwg.relay.closed('client', 0, '');
    assert.deepEqual(whatwg.server.closes, [{ code: 1000, reason: 'client connection lost' }]);
  });

  test('a message over MAX_WEBSOCKET_MESSAGE_BYTES closes the sender with 1009 and the other side with 1001', () => {
    const { client, server, ends, relay } = setup();
    relay.message('client', new Uint8Array(501));
    assert.deepEqual(server.sent, []);
    assert.equal(client.closes[0]?.code, 1009);
    assert.match(client.closes[0]?.reason ?? '', /501 bytes exceeds the limit of 500/);
    assert.equal(server.closes[0]?.code, 1001);
    relay.closed('client', 1009, '');
    relay.closed('server', 1001, '');
    assert.equal(ends[0]?.cause, 'message_too_big');
  });

  test('a message of exactly MAX_WEBSOCKET_MESSAGE_BYTES passes, counted in UTF-8 bytes for text', () => {
    const { client, server, relay } = setup();
    relay.message('client', 'é'.repeat(250));
    assert.equal(server.sent.length, 1);
    relay.message('client', 'é'.repeat(251));
    assert.equal(client.closes[0]?.code, 1009);
  });

  test('more than WEBSOCKET_MAX_BUFFERED_BYTES waiting for a slow reader closes both sides with 1008', () => {
    const { client, server, ends, relay } = setup();
    relay.message('server', new Uint8Array(500));
    relay.message('server', new Uint8Array(500));
    assert.equal(client.closes.length, 0, 'exactly at the limit is allowed');
    relay.message('server', new Uint8Array(1));
    assert.equal(client.closes[0]?.code, 1008);
    assert.equal(server.closes[0]?.code, 1008);
    relay.message('server', 'after close');
    assert.equal(client.sent.length, 3, 'nothing is sent once the tunnel is closing');
    relay.closed('client', 1008, '');
    relay.closed('server', 1008, '');
    assert.equal(ends[0]?.cause, 'buffer_limit');
    assert.equal(ends[0]?.initiator, 'proxy');
  });

  test('messages held for a client not yet open count against WEBSOCKET_MAX_BUFFERED_BYTES', () => {
    const { client, server, relay } = setup({ clientOpen: false });
    relay.message('server', new Uint8Array(500));
    relay.message('server', new Uint8Array(500));
    relay.message('server', new Uint8Array(1));
    assert.equal(server.closes[0]?.code, 1008);
    relay.clientOpened();
    assert.deepEqual(client.sent, [], 'held messages are discarded once the tunnel closes');
  });

  test('backpressure (Bun send returning -1) keeps the tunnel open below the limit; a dropped message (0) closes it with 1011', () => {
    const { client, server, relay } = setup();
    client.nextOutcome = 'backpressure';
    relay.message('server', 'slow');
    assert.equal(client.closes.length, 0);
    client.nextOutcome = 'dropped';
    relay.message('server', 'lost');
    assert.equal(client.closes[0]?.code, 1011);
    assert.equal(server.closes[0]?.code, 1011);
  });

  test('WEBSOCKET_IDLE_TIMEOUT_MS closes a tunnel with no message either way with 1001, counted from the last message', () => {
    const { client, server, clock, ends, relay } = setup({ limits: { idleTimeoutMs: 1000 } });
    clock.advance(600);
    relay.message('client', 'still here');
    clock.advance(600);
    assert.equal(client.closes.length, 0, 'activity pushed the deadline back');
    clock.advance(400);
    assert.equal(client.closes[0]?.code, 1001);
    assert.equal(server.closes[0]?.code, 1001);
    relay.closed('client', 1001, '');
    relay.closed('server', 1001, '');
    assert.equal(ends[0]?.cause, 'idle');
  });

  test('an idle timeout of 0 sets no timer at all', () => {
    const { clock } = setup({ limits: { idleTimeoutMs: 0 } });
    assert.equal(clock.pending, 0);
  });

  test('shutdown closes both sides with 1001, and a WHATWG client sends 1000 instead', () => {
    const { client, server, relay } = setup({ serverCodes: 'whatwg' });
    relay.shutdown();
    assert.deepEqual(client.closes, [{ code: 1001, reason: 'proxy shutting down' }]);
    assert.deepEqual(server.closes, [{ code: 1000, reason: 'proxy shutting down' }]);
  });

  test('a side that never completes the closing handshake is terminated after the grace period, and the relay ends once', () => {
    const { server, clock, ends, relay } = setup();
    relay.closed('client', 1000, '');
    clock.advance(99);
    assert.equal(ends.length, 0);
    clock.advance(1);
    assert.equal(server.terminated, true);
    assert.equal(ends.length, 1);
    relay.closed('server', 1000, '');
    assert.equal(ends.length, 1);
    assert.equal(clock.pending, 0, 'no timer left behind');
  });
});
