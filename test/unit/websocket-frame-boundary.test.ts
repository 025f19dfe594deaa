/** Frame boundaries in a WebSocket byte tunnel (RFC 6455 §5.2), and close frames `ws` itself reads back. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ws from 'ws';
import { closeFrame, FrameBoundary } from '../../src/core/proxy/websocket/frame-boundary.ts';

/** ws's frame parser, which it exports but @types/ws does not describe. */
interface FrameReceiver {
  write(chunk: Buffer): void;
  on(event: 'conclude', listener: (code: number, reason: Buffer) => void): void;
}
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean }) => FrameReceiver };

/** A frame as a peer would send it: FIN, the opcode, the length in 7, 16 or 64 bits, an optional mask. */
function frame(opcode: number, payloadLength: number, masked: boolean, fin = true): Uint8Array {
  const lengthBytes = payloadLength < 126 ? 0 : payloadLength < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + lengthBytes + (masked ? 4 : 0) + payloadLength).fill(0x61);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out[1] = (masked ? 0x80 : 0) | (lengthBytes === 0 ? payloadLength : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) {
    out[2] = payloadLength >> 8;
    out[3] = payloadLength & 0xff;
  } else if (lengthBytes === 8) {
    new DataView(out.buffer).setBigUint64(2, BigInt(payloadLength));
  }
  return out;
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('FrameBoundary', () => {
  test('is at a boundary after each whole frame, whatever the chunking', () => {
    const frames = [frame(0x1, 5, false), frame(0x2, 300, true), frame(0x2, 70_000, false), frame(0x9, 0, true)];
    const stream = concat(...frames);
    const ends = new Set<number>();
    let at = 0;
    for (const f of frames) ends.add(at += f.length);
    for (const chunkSize of [1, 3, 1000, stream.length]) {
      const boundary = new FrameBoundary();
      for (let i = 0; i < stream.length; i += chunkSize) {
        const end = Math.min(i + chunkSize, stream.length);
        boundary.push(stream.subarray(i, end));
        // A chunk ending exactly on a frame's last byte leaves the tracker at a boundary, and only then.
        assert.equal(boundary.atBoundary, ends.has(end), `chunk size ${chunkSize}, after byte ${end}`);
      }
    }
  });

  test('a fragment of a message is a frame of its own, so a close frame may follow it (RFC 6455 §5.4)', () => {
    const boundary = new FrameBoundary();
    boundary.push(frame(0x1, 10, false, false));
    assert.equal(boundary.atBoundary, true);
  });
});

/** Bun swaps `ws` for its own shim, which has no frame parser; the byte layout is checked on every runtime below. */
const NO_RECEIVER = 'Bun' in globalThis ? "Bun's ws shim has no Receiver" : false;

describe('closeFrame', () => {
  test('the bytes: FIN and opcode 8, the length, then the code in network order and the reason', () => {
    assert.deepEqual([...closeFrame(1001, 'ok')], [0x88, 4, 0x03, 0xe9, 0x6f, 0x6b]);
    const masked = closeFrame(1001, 'ok', new Uint8Array([1, 2, 3, 4]));
    assert.deepEqual([...masked], [0x88, 0x84, 1, 2, 3, 4, 0x03 ^ 1, 0xe9 ^ 2, 0x6f ^ 3, 0x6b ^ 4]);
  });

  test('toward the client: unmasked, read by ws as the code and reason', { skip: NO_RECEIVER }, async () => {
    const receiver = new Receiver({ isServer: false });
    const concluded = new Promise<[number, string]>((resolve) => receiver.on('conclude', (code: number, reason: Buffer) => resolve([code, reason.toString()])));
    receiver.write(Buffer.from(closeFrame(1001, 'proxy shutting down')));
    assert.deepEqual(await concluded, [1001, 'proxy shutting down']);
  });

  test('toward the server: masked with the given key, as RFC 6455 §5.3 requires of a client', { skip: NO_RECEIVER }, async () => {
    const receiver = new Receiver({ isServer: true });
    const concluded = new Promise<[number, string]>((resolve) => receiver.on('conclude', (code: number, reason: Buffer) => resolve([code, reason.toString()])));
    const bytes = closeFrame(1001, 'bye', new Uint8Array([1, 2, 3, 4]));
    assert.equal(bytes[1]! & 0x80, 0x80);
    receiver.write(Buffer.from(bytes));
    assert.deepEqual(await concluded, [1001, 'bye']);
  });
});
