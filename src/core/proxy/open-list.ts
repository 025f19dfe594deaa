/**
 * The exchanges not yet at their exit, as an intrusive doubly linked list: add and delete are O(1), allocate nothing,
 * and a member that leaves keeps no link to any other.
 *
 * Why not a `Set`: V8 rebuilds a Set's hash table every few dozen add/delete pairs, and the table it leaves keeps the
 * members it held then and a link to its successor, which keeps the next one, and so on. Once one such table has been
 * promoted to the old generation, this chain keeps every in-flight request's objects alive through young-generation
 * collections until the next full one (issue 12: half of the ~3 MB that survived each scavenge under load, all of it
 * promoted). Written by hand: a list threaded through its members is a few lines, and no package offers one.
 */
export interface OpenListMember<T> {
  openPrevious: T | undefined;
  openNext: T | undefined;
}

export class OpenList<T extends OpenListMember<T>> {
  #first: T | undefined;
  #last: T | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(member: T): void {
    if (this.has(member)) return;
    member.openPrevious = this.#last;
    member.openNext = undefined;
    if (this.#last === undefined) this.#first = member;
    else this.#last.openNext = member;
    this.#last = member;
    this.#size++;
  }

  has(member: T): boolean {
    return member.openPrevious !== undefined || this.#first === member;
  }

  delete(member: T): void {
    if (!this.has(member)) return;
    if (member.openPrevious === undefined) this.#first = member.openNext;
    else member.openPrevious.openNext = member.openNext;
    if (member.openNext === undefined) this.#last = member.openPrevious;
    else member.openNext.openPrevious = member.openPrevious;
    member.openPrevious = member.openNext = undefined;
    this.#size--;
  }

  /** The members in the order they were added; the one just given may delete itself before the next is read. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let member = this.#first; member !== undefined;) {
      const next = member.openNext;
      yield member;
      member = next;
    }
  }
}
