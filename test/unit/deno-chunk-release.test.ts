/** Deno's chunk release: fetch responses' chunks are freed once passed on, node:http responses' are left alone, uploads' once taken. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkReleaser, releaseChunk, releasingBody, withSharedChunks } from '../../src/runtimes/deno/chunk-release.ts';

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

test('a releasing body passes every chunk on and frees each only when the next is asked for', { skip: noTransfer }, async () => {
  const parts = [new Uint8Array([1, 2]), new Uint8Array([3]), new Uint8Array([4, 5, 6])];
  const sent = [...parts];
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = parts.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
  const reader = releasingBody(source).getReader();
  const seen: number[][] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // The chunk just read is intact; the one before it has been freed.
    seen.push([...value]);
    if (seen.length > 1) assert.equal(sent[seen.length - 2]!.byteLength, 0);
  }
  assert.deepEqual(seen, [[1, 2], [3], [4, 5, 6]]);
  assert.deepEqual(sent.map((chunk) => chunk.byteLength), [0, 0, 0]);
});
