/** Weighted random choice among server slots: O(1) expected per draw, O(log n) per membership or weight change. */
import type { RandomSource } from './algorithm.ts';

/** Tries of stochastic acceptance before the exact tree descent takes over. */
const ACCEPTANCE_TRIES = 8;

/**
 * Two structures, each exact on its own:
 *  - stochastic acceptance (Lipowski & Lipowska, 2012): draw a member uniformly from a dense array and accept it
 *    with probability weight / maxWeight. With equal weights the first draw is accepted; with weights 1-5 it
 *    takes 1.7 draws on average. One random number serves both the index and the acceptance test (its integer
 *    and fractional parts), so a draw costs one call to the random source and two array reads at any pool size.
 *  - a Fenwick (binary indexed) tree of weights, descended in O(log n) when acceptance fails ACCEPTANCE_TRIES
 *    times in a row (very unequal weights). Conditioned on being reached, each path yields exactly weight / total,
 *    so their mixture does too.
 * An alias table would sample in O(1) too but must be rebuilt in O(n) on every health change; both structures
 * here update one slot at a time. Hand-written: no npm package offers weighted sampling with updates.
 */
export class WeightedSampler {
  #tree = new Float64Array(16);
  #weights = new Float64Array(16);
  #total = 0;
  /** Highest power of two not above the tree's size: where the descent starts. */
  #top = 16;
  /** Slots with a positive weight, densely packed, and each slot's index in it (-1 when absent). */
  readonly #members: number[] = [];
  #index = new Int32Array(16).fill(-1);
  /** How many members have each weight, to know the largest when it leaves. */
  readonly #weightCounts = new Map<number, number>();
  #maxWeight = 0;

  get total(): number {
    return this.#total;
  }

  weightOf(slot: number): number {
    return slot < this.#weights.length ? this.#weights[slot]! : 0;
  }

  /** Sets a slot's weight (0 removes it from sampling). */
  set(slot: number, weight: number): void {
    if (slot >= this.#weights.length) this.#grow(slot + 1);
    const previous = this.#weights[slot]!;
    const delta = weight - previous;
    if (delta === 0) return;
    this.#weights[slot] = weight;
    this.#total += delta;
    const tree = this.#tree;
    for (let i = slot + 1; i <= tree.length; i += i & -i) tree[i - 1]! += delta;
    if (previous > 0) this.#forget(slot, previous);
    if (weight > 0) this.#remember(slot, weight);
  }

  /** A slot drawn with probability weight / total, or -1 when every weight is 0. */
  sample(random: RandomSource): number {
    const members = this.#members;
    const count = members.length;
    if (count === 0) return -1;
    const max = this.#maxWeight;
    const weights = this.#weights;
    for (let i = 0; i < ACCEPTANCE_TRIES; i++) {
      const x = random() * count;
      const at = Math.floor(x);
      const slot = members[at]!;
      const weight = weights[slot]!;
      if (weight === max || (x - at) * max < weight) return slot;
    }
    return this.#descend(random);
  }

  #descend(random: RandomSource): number {
    let target = random() * this.#total;
    const tree = this.#tree;
    let position = 0;
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

  #remember(slot: number, weight: number): void {
    this.#index[slot] = this.#members.length;
    this.#members.push(slot);
    this.#weightCounts.set(weight, (this.#weightCounts.get(weight) ?? 0) + 1);
    if (weight > this.#maxWeight) this.#maxWeight = weight;
  }

  #forget(slot: number, weight: number): void {
    // Swap-remove keeps the member array dense in O(1).
    const at = this.#index[slot]!;
    const last = this.#members.pop()!;
    if (last !== slot) {
      this.#members[at] = last;
      this.#index[last] = at;
    }
    this.#index[slot] = -1;
    const left = this.#weightCounts.get(weight)! - 1;
    if (left > 0) {
      this.#weightCounts.set(weight, left);
      return;
    }
    this.#weightCounts.delete(weight);
    // Only when the last server of the largest weight leaves: a scan over distinct weights, not servers.
    if (weight === this.#maxWeight) this.#maxWeight = Math.max(0, ...this.#weightCounts.keys());
  }

  #grow(minimum: number): void {
    let size = this.#weights.length;
    while (size < minimum) size *= 2;
    const weights = new Float64Array(size);
    weights.set(this.#weights);
    this.#weights = weights;
    const index = new Int32Array(size).fill(-1);
    index.set(this.#index);
    this.#index = index;
    this.#tree = new Float64Array(size);
    this.#top = size;
    // O(n) rebuild, only when the pool outgrows the capacity (amortised by doubling).
    const tree = this.#tree;
    for (let i = 0; i < size; i++) {
      tree[i]! += weights[i]!;
      const parent = i + ((i + 1) & -(i + 1));
      if (parent < size) tree[parent]! += tree[i]!;
    }
  }
}
