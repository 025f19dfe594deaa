/** IntrusiveList: members linked through themselves (the open exchanges, the running timers of one limit). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IntrusiveList, type ListLinks } from '../../src/core/proxy/intrusive-list.ts';

class Member implements ListLinks<Member> {
  listPrevious: Member | undefined = undefined;
  listNext: Member | undefined = undefined;
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

const names = (list: IntrusiveList<Member>) => [...list].map((m) => m.name);

describe('IntrusiveList', () => {
  test('keeps members in the order they were added, and counts them once each', () => {
    const list = new IntrusiveList<Member>();
    const [a, b, c] = [new Member('a'), new Member('b'), new Member('c')];
    list.append(a);
    list.append(b);
    list.append(c);
    list.append(b);
    assert.deepEqual(names(list), ['a', 'b', 'c']);
    assert.equal(list.size, 3);
  });

  test('a deleted member, first, middle or last, leaves the others linked and keeps no link itself', () => {
    const list = new IntrusiveList<Member>();
    const members = ['a', 'b', 'c', 'd'].map((name) => new Member(name));
    for (const member of members) list.append(member);
    for (const at of [1, 0, 3]) {
      const member = members[at]!;
      list.delete(member);
      assert.equal(member.listPrevious, undefined);
      assert.equal(member.listNext, undefined);
      assert.equal(list.has(member), false);
    }
    assert.deepEqual(names(list), ['c']);
    assert.equal(list.delete(members[0]!), false, 'a member not in the list is not deleted again');
    assert.equal(list.size, 1);
    list.delete(members[2]!);
    assert.deepEqual(names(list), []);
    assert.equal(list.size, 0);
    list.append(members[3]!);
    assert.deepEqual(names(list), ['d']);
  });

  test('a member may delete itself while the list is walked', () => {
    const list = new IntrusiveList<Member>();
    for (const name of ['a', 'b', 'c']) list.append(new Member(name));
    const seen: string[] = [];
    for (const member of list) {
      seen.push(member.name);
      list.delete(member);
    }
    assert.deepEqual(seen, ['a', 'b', 'c']);
    assert.equal(list.size, 0);
  });
});
