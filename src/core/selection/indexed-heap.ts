/** A binary min-heap of small integer ids (server slots) that can re-sort or remove any id in O(log n). */

/**
 * Hand-written because it must locate an id's position in O(1) to re-sort it when that server's load changes,
 * which general-purpose npm heaps do not offer without a linear search.
 */
export class IndexedHeap {
  readonly #heap: number[] = [];
  /** Position of each id in #heap, or -1 when absent. */
  readonly #position: number[] = [];
  /** True when `a` must come out before `b`. */
  readonly #before: (a: number, b: number) => boolean;

  constructor(before: (a: number, b: number) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** The first id, or -1 when empty. */
  peek(): number {
    return this.#heap.length === 0 ? -1 : this.#heap[0]!;
  }

  has(id: number): boolean {
    return (this.#position[id] ?? -1) !== -1;
  }

  push(id: number): void {
    if (this.has(id)) return this.update(id);
    this.#heap.push(id);
    this.#position[id] = this.#heap.length - 1;
    this.#up(this.#heap.length - 1);
  }

  remove(id: number): void {
    const at = this.#position[id] ?? -1;
    if (at === -1) return;
    const last = this.#heap.pop()!;
    this.#position[id] = -1;
    if (at === this.#heap.length) return;
    this.#heap[at] = last;
    this.#position[last] = at;
    this.update(last);
  }

  /** Restores order after `id`'s key changed in either direction. */
  update(id: number): void {
    const at = this.#position[id] ?? -1;
    if (at === -1) return;
    this.#down(this.#up(at));
  }

  #up(at: number): number {
    const heap = this.#heap;
    const id = heap[at]!;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const parentId = heap[parent]!;
      if (!this.#before(id, parentId)) break;
      heap[at] = parentId;
      this.#position[parentId] = at;
      at = parent;
    }
    heap[at] = id;
    this.#position[id] = at;
    return at;
  }

  #down(at: number): void {
    const heap = this.#heap;
    const id = heap[at]!;
    const n = heap.length;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#before(heap[right]!, heap[left]!) ? right : left;
      const childId = heap[child]!;
      if (!this.#before(childId, id)) break;
      heap[at] = childId;
      this.#position[childId] = at;
      at = child;
    }
    heap[at] = id;
    this.#position[id] = at;
  }
}
