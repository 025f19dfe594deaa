/** OpenList: the exchanges not yet at their exit, linked through themselves. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenList, type OpenListMember } from '../../src/core/proxy/open-list.ts';

class Member implements OpenListMember<Member> {
  openPrevious: Member | undefined = undefined;
  openNext: Member | undefined = undefined;
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

const names = (list: OpenList<Member>) => [...list].map((m) => m.name);

describe('OpenList', () => {
  test('keeps members in the order they were added, and counts them once each', () => {
    const list = new OpenList<Member>();
    const [a, b, c] = [new Member('a'), new Member('b'), new Member('c')];
    list.add(a);
    list.add(b);
    list.add(c);
    list.add(b);
    assert.deepEqual(names(list), ['a', 'b', 'c']);
    assert.equal(list.size, 3);
  });

  test('a deleted member, first, middle or last, leaves the others linked and keeps no link itself', () => {
    const list = new OpenList<Member>();
    const members = ['a', 'b', 'c', 'd'].map((name) => new Member(name));
    for (const member of members) list.add(member);
    for (const at of [1, 0, 3]) {
      const member = members[at]!;
      list.delete(member);
      assert.equal(member.openPrevious, undefined);
      assert.equal(member.openNext, undefined);
      assert.equal(list.has(member), false);
    }
    assert.deepEqual(names(list), ['c']);
    list.delete(members[0]!);
    assert.equal(list.size, 1);
    list.delete(members[2]!);
    assert.deepEqual(names(list), []);
    assert.equal(list.size, 0);
    list.add(members[3]!);
    assert.deepEqual(names(list), ['d']);
  });

  test('a member may delete itself while the list is walked', () => {
    const list = new OpenList<Member>();
    for (const name of ['a', 'b', 'c']) list.add(new Member(name));
    const seen: string[] = [];
    for (const member of list) {
      seen.push(member.name);
      list.delete(member);
    }
    assert.deepEqual(seen, ['a', 'b', 'c']);
    assert.equal(list.size, 0);
  });
});
