/**
 * Where frames begin in one direction of a WebSocket byte tunnel, so a close frame can be put between two
 * frames at shutdown (RFC 6455 §5.4 lets a control frame go between the fragments of a message). Only frame
 * headers are read (RFC 6455 §5.2); payloads pass untouched. Written by hand: the WebSocket libraries parse
 * whole messages, while a tunnel needs only this counter.
 */
import { closeReason } from './close-codes.ts';

/** Tracks frame boundaries in a byte stream fed to `push` in order. */
export class FrameBoundary {
  /** Payload bytes of the current frame still to come. */
  #payloadLeft = 0;
  /** The bytes of a frame header read so far (2 to 14 bytes). */
  #header: number[] = [];

  /** True between frames: a whole number of frames has gone by. */
  get atBoundary(): boolean {
    return this.#payloadLeft === 0 && this.#header.length === 0;
  }

  push(chunk: Uint8Array): void {
    this.#consume(chunk, false);
  }

  /**
   * Reads `chunk` only up to the end of the frame in progress (or none, at a boundary), and returns how many
   * of its bytes that was: those bytes finish the frame, the rest would start the next one.
   */
  pushToBoundary(chunk: Uint8Array): number {
    return this.atBoundary ? 0 : this.#consume(chunk, true);
  }

  #consume(chunk: Uint8Array, stopAtBoundary: boolean): number {
    let at = 0;
    while (at < chunk.length) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, chunk.length - at);
        this.#payloadLeft -= take;
        at += take;
      } else {
        this.#header.push(chunk[at]!);
        at++;
        if (this.#header.length < headerLength(this.#header)) continue;
        this.#payloadLeft = payloadLength(this.#header);
        this.#header = [];
      }
      if (stopAtBoundary && this.atBoundary) return at;
    }
    return at;
  }
}

/** A header's full length once its second byte is known: 2, plus 2 or 8 for an extended length, plus 4 for a mask. */
function headerLength(header: readonly number[]): number {
  if (header.length < 2) return 2;
  const second = header[1]!;
  const length7 = second & 0x7f;
  return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (second & 0x80 ? 4 : 0);
}

function payloadLength(header: readonly number[]): number {
  const length7 = header[1]! & 0x7f;
  if (length7 < 126) return length7;
  if (length7 === 126) return (header[2]! << 8) | header[3]!;
  // 64-bit length; payloads past 2^53 cannot occur in practice, and the top bit must be 0 (RFC 6455 §5.2).
  let length = 0;
  for (let i = 2; i < 10; i++) length = length * 256 + header[i]!;
  return length;
}

/**
 * A close frame (RFC 6455 §5.5.1): FIN and opcode 0x8, the code and a reason of at most 123 bytes. Frames a
 * client sends are masked (§5.3), so the frame toward the server takes a mask key; the one toward the client
 * goes unmasked.
 */
export function closeFrame(code: number, reason: string, maskKey?: Uint8Array): Uint8Array {
  const reasonBytes = new TextEncoder().encode(closeReason(reason));
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  const masked = maskKey !== undefined;
  const frame = new Uint8Array(2 + (masked ? 4 : 0) + payload.length);
  frame[0] = 0x88;
  frame[1] = (masked ? 0x80 : 0) | payload.length;
  if (!masked) {
    frame.set(payload, 2);
    return frame;
  }
  frame.set(maskKey.subarray(0, 4), 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ maskKey[i % 4]!;
  return frame;
}
