/** Weighted random choice among server slots in O(log n), with O(log n) updates when a weight or membership changes. */
import type { RandomSource } from './algorithm.ts';

/**
 * A Fenwick (binary indexed) tree of weights. An alias table samples in O(1) but must be rebuilt in O(n) on
 * every health change; the tree updates one slot in O(log n), which keeps health flapping at 10,000 servers cheap.
 * Hand-written: a few lines, and no npm package offers weighted sampling with updates.
 */
export class WeightedSampler {
  #tree = new Float64Array(16);
  #weights = new Float64Array(16);
  #total = 0;
  /** Highest power of two not above the tree's size: where the descent starts. */
  #top = 16;

  get total(): number {
    return this.#total;
  }

  weightOf(slot: number): number {
    return slot < this.#weights.length ? this.#weights[slot]! : 0;
  }

  /** Sets a slot's weight (0 removes it from sampling). */
  set(slot: number, weight: number): void {
    if (slot >= this.#weights.length) this.#grow(slot + 1);
    const delta = weight - this.#weights[slot]!;
    if (delta === 0) return;
    this.#weights[slot] = weight;
    this.#total += delta;
    const tree = this.#tree;
    for (let i = slot + 1; i <= tree.length; i += i & -i) tree[i - 1]! += delta;
  }

  /** A slot drawn with probability weight / total, or -1 when every weight is 0. */
  sample(random: RandomSource): number {
    if (this.#total <= 0) return -1;
    let target = random() * this.#total;
    const tree = this.#tree;
    let position = 0;
    // Descend from the highest power of two: O(log n) with no division.
    for (let step = this.#top; step > 0; step >>= 1) {
      const next = position + step;
      if (next <= tree.length && tree[next - 1]! <= target) {
        position = next;
        target -= tree[next - 1]!;
      }
    }
    // Float rounding can land on a zero-weight slot at the very end; step back to the nearest weighted one.
    let slot = Math.min(position, this.#weights.length - 1);
    while (slot > 0 && this.#weights[slot] === 0) slot--;
    return this.#weights[slot]! > 0 ? slot : -1;
  }

  #grow(minimum: number): void {
    let size = this.#weights.length;
    while (size < minimum) size *= 2;
    const weights = new Float64Array(size);
    weights.set(this.#weights);
    this.#weights = weights;
    this.#tree = new Float64Array(size);
    this.#top = size;
    // O(n) rebuild, only when the pool outgrows the capacity (amortised by doubling).
    for (let i = 0; i < size; i++) {
      const tree = this.#tree;
      tree[i]! += weights[i]!;
      const parent = i + ((i + 1) & -(i + 1));
      if (parent < size) tree[parent]! += tree[i]!;
    }
  }
}
