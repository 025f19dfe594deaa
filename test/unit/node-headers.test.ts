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
