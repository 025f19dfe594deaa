/**
 * Frees a passed-through body chunk's memory as soon as its socket write has completed (Node 22+; Node 20 has no
 * `ArrayBuffer.prototype.transfer`, so nothing is freed there).
 *
 * A chunk Fairway passes on is garbage once the kernel has its bytes, but its ArrayBuffer is external memory that
 * V8 frees only at a young-generation GC, and V8 forces one for external memory only after about 64 MiB: a 1 GiB
 * transfer on Node 26 held +66 MiB (bench/memory.mjs). Detaching the buffer (`transfer(0)`, ES2024) frees it at once.
 *
 * Only provably safe chunks are freed:
 * - after the write callback without an error: node:http (or undici's socket) no longer needs the bytes;
 * - only a chunk that is the whole of its ArrayBuffer: a socket read (undici's body chunks are views of it) or
 *   node:http's per-chunk copy of an upload. A part of a larger read, or a slice of Buffer's pool slab (allocations
 *   under `Buffer.poolSize / 2`, so never a whole slab), is left alone;
 * - an upload chunk only when the forwarder marked it (`releasableUpload`): a body kept for a retry never is.
 */
import type { Socket } from 'node:net';
import process from 'node:process';

type Transferable = ArrayBuffer & { readonly detached?: boolean; transfer?(length: number): ArrayBuffer };

/**
 * Whether chunks are freed here: on Node with `transfer`. The reasoning above is about Node's node:http and sockets;
 * Deno's and Bun's node:http (which run this path only in tests) may share a pooled buffer between chunks.
 */
export const releasesChunks = typeof (ArrayBuffer.prototype as Transferable).transfer === 'function' && process.versions.deno === undefined &&
  process.versions.bun === undefined;

/** Smaller chunks are not worth a callback each: a transfer's memory is its large reads. */
const MIN_RELEASED_BYTES = 16 * 1024;

/** True for a chunk worth freeing that no other view shares: the whole of an ArrayBuffer of its own. */
export function ownsItsBuffer(chunk: Uint8Array): boolean {
  return chunk.byteLength >= MIN_RELEASED_BYTES && chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
}

/** Frees one chunk that nothing will read again. */
export function releaseChunk(chunk: Uint8Array): void {
  const buffer = chunk.buffer as Transferable;
  if (buffer.detached === false) buffer.transfer!(0);
}

/** A write callback that frees `chunk` once it was written: on an error the stream may still hold it, so it is left to GC. */
export function releaseWhenWritten(chunk: Uint8Array): (error?: Error | null) => void {
  return (error) => {
    if (error == null) releaseChunk(chunk);
  };
}

/** Upload chunks the forwarder gave undici to pass on and never needs again. */
const releasableUploads = new WeakSet<object>();

/** Marks an upload chunk as free to release once an upstream socket has written it. */
export function releasableUpload(chunk: unknown): void {
  if (chunk instanceof Uint8Array && ownsItsBuffer(chunk)) releasableUploads.add(chunk);
}

/**
 * Makes an upstream socket free the marked upload chunks it writes. undici writes a streamed request body with
 * `socket.write(chunk)` and no callback, so the socket's own `write` is where completion can be seen.
 */
export function releasingWrittenUploads<S extends Socket>(socket: S): S {
  if (!releasesChunks) return socket;
  const write = socket.write as (this: Socket, chunk: unknown, encoding?: unknown, callback?: unknown) => boolean;
  // Fixed parameters, not a rest array: this runs for every write on every upstream connection.
  socket.write = function (this: Socket, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (encoding !== undefined || callback !== undefined || typeof chunk !== 'object' || !releasableUploads.has(chunk as object)) {
      return write.call(this, chunk, encoding, callback);
    }
    return write.call(this, chunk, releaseWhenWritten(chunk as Uint8Array));
  } as Socket['write'];
  return socket;
}
