/** Pins the prototype rules for reading a short response whole (issue 12): which lengths qualify, and the length check. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bufferableLength, DEFAULT_RESPONSE_BUFFER_BYTES, readWhole } from '../../src/core/proxy/response-buffering.ts';

test('a single Content-Length up to the limit is read whole; larger, listed, missing or junk lengths stream', () => {
  assert.equal(bufferableLength('128', DEFAULT_RESPONSE_BUFFER_BYTES), 128);
  assert.equal(bufferableLength('0', DEFAULT_RESPONSE_BUFFER_BYTES), 0);
  assert.equal(bufferableLength(String(64 * 1024), DEFAULT_RESPONSE_BUFFER_BYTES), 64 * 1024);
  assert.equal(bufferableLength(String(64 * 1024 + 1), DEFAULT_RESPONSE_BUFFER_BYTES), undefined);
  assert.equal(bufferableLength(null, DEFAULT_RESPONSE_BUFFER_BYTES), undefined);
  assert.equal(bufferableLength('12, 12', DEFAULT_RESPONSE_BUFFER_BYTES), undefined);
  assert.equal(bufferableLength('-1', DEFAULT_RESPONSE_BUFFER_BYTES), undefined);
  assert.equal(bufferableLength('1e3', DEFAULT_RESPONSE_BUFFER_BYTES), undefined);
});

test('RESPONSE_BUFFER_BYTES=0 turns buffering off, even for an empty body', () => {
  assert.equal(bufferableLength('0', 0), undefined);
  assert.equal(bufferableLength('10', 0), undefined);
});

test('readWhole returns the declared bytes and refuses a body whose length differs', async () => {
  const bytes = await readWhole(new Response('hello'), 5);
  assert.deepEqual([...bytes], [...new TextEncoder().encode('hello')]);
  await assert.rejects(readWhole(new Response('hello!'), 5), /sent 6 bytes for a Content-Length of 5/);
});
