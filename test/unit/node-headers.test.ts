/** NodeHeaders: the header rules over node:http's plain objects, deleting without `delete` on the runtime's object. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeHeaders } from '../../src/runtimes/node/node-headers.ts';

test('a deleted field is gone from get, has, keys and object, and the runtime object is never `delete`d from', () => {
  const original = { host: 'a', connection: 'x-hop', 'x-hop': '1', 'set-cookie': ['a=1', 'b=2'] };
  const headers = new NodeHeaders(original);
  headers.delete('X-Hop');
  headers.delete('connection');
  headers.set('via', '1.1 fairway');
  assert.equal(headers.get('x-hop'), null);
  assert.equal(headers.has('connection'), false);
  assert.deepEqual([...headers.keys()].sort(), ['host', 'set-cookie', 'via']);
  assert.deepEqual(headers.object, { host: 'a', 'set-cookie': ['a=1', 'b=2'], via: '1.1 fairway' });
  assert.equal(original['x-hop'], '1', 'the original object keeps its field');
  headers.set('x-hop', 'again');
  assert.equal(headers.get('x-hop'), 'again', 'a field set after its deletion is back');
  assert.ok(Object.keys(headers.object).includes('x-hop'));
});

test('many deleted fields (a long Connection list) are all gone, and a field set again after its deletion is kept', () => {
  const original: Record<string, string> = { host: 'a' };
  for (let i = 0; i < 40; i++) original[`x-${i}`] = String(i);
  const headers = new NodeHeaders(original);
  for (let i = 0; i < 40; i++) headers.delete(`X-${i}`);
  headers.set('x-7', 'back');
  assert.equal(headers.get('x-3'), null);
  assert.equal(headers.has('x-39'), false);
  assert.deepEqual([...headers.keys()].sort(), ['host', 'x-7']);
  assert.deepEqual(headers.object, { host: 'a', 'x-7': 'back' });
  assert.equal(original['x-3'], '3', 'the original object keeps its fields');
});

test('names are matched in any case, lower-case ones as they are', () => {
  const headers = new NodeHeaders({ 'content-type': 'text/plain' });
  assert.equal(headers.get('Content-Type'), 'text/plain');
  assert.equal(headers.get('content-type'), 'text/plain');
  headers.set('X-Request-Id', 'r1');
  assert.equal(headers.object['x-request-id'], 'r1');
});
