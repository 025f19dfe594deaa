/** A 4-ary min-heap of small integer ids (server slots), keyed by numbers, that can re-key or remove any id in O(log n). */

/**
 * Hand-written because it must find an id's position in O(1) to re-sort it when that server's load changes,
 * which general-purpose npm heaps do not offer without a linear search. Keys live in typed arrays and are
 * compared inline (key, then tie, then id), so a sift is a few array reads per level and no function calls;
 * four children per node halve the depth of a binary heap (7 levels at 10,000 servers).
 */
export class IndexedHeap {
  readonly #heap: number[] = [];
  #position = new Int32Array(16).fill(-1);
  #key = new Float64Array(16);
  #tie = new Float64Array(16);

  get size(): number {
    return this.#heap.length;
  }

  /** The ids in heap order (not sorted); do not modify. */
  get ids(): readonly number[] {
    return this.#heap;
  }

  /** The id with the lowest (key, tie, id), or -1 when empty. */
  peek(): number {
    return this.#heap.length === 0 ? -1 : this.#heap[0]!;
  }

  has(id: number): boolean {
    return id < this.#position.length && this.#position[id] !== -1;
  }

  keyOf(id: number): number {
    return this.#key[id]!;
  }

  /** Inserts `id`, or moves it to its new place if it is already in. */
  set(id: number, key: number, tie: number): void {
    if (id >= this.#position.length) this.#grow(id + 1);
    this.#key[id] = key;
    this.#tie[id] = tie;
    let at = this.#position[id]!;
    if (at === -1) {
      at = this.#heap.length;
      this.#heap.push(id);
      this.#position[id] = at;
    }
    this.#down(this.#up(at));
  }

  remove(id: number): void {
    if (!this.has(id)) return;
    const at = this.#position[id]!;
    const last = this.#heap.pop()!;
    this.#position[id] = -1;
    if (at === this.#heap.length) return;
    this.#heap[at] = last;
    this.#position[last] = at;
    this.#down(this.#up(at));
  }

  #before(a: number, b: number): boolean {
    const key = this.#key;
    if (key[a] !== key[b]) return key[a]! < key[b]!;
    const tie = this.#tie;
    if (tie[a] !== tie[b]) return tie[a]! < tie[b]!;
    return a < b;
  }

  #up(at: number): number {
    const heap = this.#heap;
    const position = this.#position;
    const id = heap[at]!;
    while (at > 0) {
      const parent = (at - 1) >> 2;
      const parentId = heap[parent]!;
      if (!this.#before(id, parentId)) break;
      heap[at] = parentId;
      position[parentId] = at;
      at = parent;
    }
    heap[at] = id;
    position[id] = at;
    return at;
  }

  #down(at: number): void {
    const heap = this.#heap;
    const position = this.#position;
    const id = heap[at]!;
    const n = heap.length;
    for (;;) {
      const first = 4 * at + 1;
      if (first >= n) break;
      let best = first;
      const end = Math.min(first + 4, n);
      for (let child = first + 1; child < end; child++) if (this.#before(heap[child]!, heap[best]!)) best = child;
      const bestId = heap[best]!;
      if (!this.#before(bestId, id)) break;
      heap[at] = bestId;
      position[bestId] = at;
      at = best;
    }
    heap[at] = id;
    position[id] = at;
  }

  #grow(minimum: number): void {
    let size = this.#position.length;
    while (size < minimum) size *= 2;
    const position = new Int32Array(size).fill(-1);
    position.set(this.#position);
    const key = new Float64Array(size);
    key.set(this.#key);
    const tie = new Float64Array(size);
    tie.set(this.#tie);
    this.#position = position;
    this.#key = key;
    this.#tie = tie;
  }
}
