/**
 * A doubly linked list threaded through its members: append and delete are O(1), allocate nothing, and a member that
 * leaves keeps no link to any other. A member belongs to one such list at a time. It holds the exchanges not yet at
 * their exit (admission.ts) and the running timers of one limit (limit-timer.ts), both on every request's path.
 *
 * Why not a `Set`: V8 rebuilds a Set's hash table every few dozen add/delete pairs, and the table it leaves keeps the
 * members it held then and a link to its successor, which keeps the next one, and so on. Once one such table has been
 * promoted to the old generation, this chain keeps every in-flight request's objects alive through young-generation
 * collections until the next full one (issue 12: half of the ~3 MB that survived each scavenge under load, all of it
 * promoted). Written by hand: a list threaded through its members is a few lines, and no package offers one.
 */
export interface ListLinks<T> {
  listPrevious: T | undefined;
  listNext: T | undefined;
}

export class IntrusiveList<T extends ListLinks<T>> {
  #first: T | undefined;
  #last: T | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The member appended longest ago and still in the list. */
  get first(): T | undefined {
    return this.#first;
  }

  /** Adds a member at the end; a member already in the list stays where it is. */
  append(member: T): void {
    if (this.has(member)) return;
    member.listPrevious = this.#last;
    member.listNext = undefined;
    if (this.#last === undefined) this.#first = member;
    else this.#last.listNext = member;
    this.#last = member;
    this.#size++;
  }

  has(member: T): boolean {
    return member.listPrevious !== undefined || this.#first === member;
  }

  /** Takes a member out; false when it was not in the list. */
  delete(member: T): boolean {
    if (!this.has(member)) return false;
    if (member.listPrevious === undefined) this.#first = member.listNext;
    else member.listPrevious.listNext = member.listNext;
    if (member.listNext === undefined) this.#last = member.listPrevious;
    else member.listNext.listPrevious = member.listPrevious;
    member.listPrevious = member.listNext = undefined;
    this.#size--;
    return true;
  }

  /** The members in the order they were appended; the one just given may delete itself before the next is read. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let member = this.#first; member !== undefined;) {
      const next = member.listNext;
      yield member;
      member = next;
    }
  }
}
