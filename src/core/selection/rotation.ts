/** Shared "continue after the last pick, in id order" logic for round robin and for breaking ties. */
import type { Candidate } from './algorithm.ts';

/** Sentinel below every real id, so the first pick starts at the lowest id. */
export const BEFORE_FIRST = -1;

/**
 * Index of the first candidate whose id is greater than `id`, or `candidates.length` if none.
 * Candidates arrive sorted by id, so a binary search keeps a round-robin pick O(log n).
 */
export function indexAfter(candidates: readonly Candidate[], id: number): number {
  let low = 0;
  let high = candidates.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (candidates[mid]!.id <= id) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Orders two candidates by load: negative when `a` should be preferred, 0 when they are equally good.
 * Returning 0 is what makes candidates "tied" and therefore subject to rotation.
 */
export type LoadOrder = (a: Candidate, b: Candidate) => number;

/** Remembers the last id picked so that repeated picks among equally good candidates cycle through all of them. */
export interface TieRotation {
  /**
   * The best candidate under `order`; among tied best ones, the first whose id follows the previous pick
   * (wrapping to the lowest tied id). Undefined for an empty list.
   */
  pickBest<T extends Candidate>(candidates: readonly T[], order: LoadOrder): T | undefined;
}

export function createTieRotation(): TieRotation {
  let lastId = BEFORE_FIRST;
  return {
    pickBest<T extends Candidate>(candidates: readonly T[], order: LoadOrder): T | undefined {
      // One pass, no allocation: because candidates are sorted by id, the first tied candidate seen is
      // the wrap-around choice, and the first tied one past `lastId` is the rotation's next choice.
      let lowestTied: T | undefined;
      let nextTied: T | undefined;
      for (let i = 0; i < candidates.length; i++) {
        const candidate = candidates[i]!;
        const cmp = lowestTied === undefined ? -1 : order(candidate, lowestTied);
        if (cmp < 0) {
          // A strictly better candidate invalidates every tie collected so far.
          lowestTied = candidate;
          nextTied = candidate.id > lastId ? candidate : undefined;
        } else if (cmp === 0 && nextTied === undefined && candidate.id > lastId) {
          nextTied = candidate;
        }
      }
      const chosen = nextTied ?? lowestTied;
      if (chosen !== undefined) lastId = chosen.id;
      return chosen;
    },
  };
}
