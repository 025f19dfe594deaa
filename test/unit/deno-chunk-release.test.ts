/** Deno's chunk releaser: fetch responses' chunks are freed at once, node:http responses' are left alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkReleaser, releaseChunk, withSharedChunks } from '../../src/runtimes/deno/chunk-release.ts';

// Deno's module, tested wherever ArrayBuffer.prototype.transfer (ES2024) exists: every runtime here but Node 20.
const noTransfer = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer !== 'function' && 'no ArrayBuffer.prototype.transfer (Node 20)';

test('releasing a chunk detaches its buffer, and releasing it again is harmless', { skip: noTransfer }, () => {
  const chunk = new Uint8Array(64 * 1024);
  releaseChunk(chunk);
  assert.equal(chunk.byteLength, 0);
  assert.equal((chunk.buffer as ArrayBuffer & { detached: boolean }).detached, true);
  releaseChunk(chunk);
});

test('a response marked as having shared chunks gets no releaser; any other response does', () => {
  assert.equal(chunkReleaser(withSharedChunks(new Response('x'))), undefined);
  assert.equal(chunkReleaser(new Response('x')), releaseChunk);
});
