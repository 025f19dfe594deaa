/** Round robin: each server in turn, in configured order, regardless of load or weight. */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { BEFORE_FIRST, indexAfter } from './rotation.ts';

export function createRoundRobin(): SelectionAlgorithm {
  // Remember an id rather than an index: when a server leaves or returns the list shifts, and an index
  // would make rotation skip or repeat servers, whereas "next id after the last one" keeps configured order.
  let lastId = BEFORE_FIRST;
  return {
    name: 'round_robin',
    pick<T extends Candidate>(candidates: readonly T[]): T | undefined {
      if (candidates.length === 0) return undefined;
      const index = indexAfter(candidates, lastId);
      const chosen = candidates[index === candidates.length ? 0 : index]!;
      lastId = chosen.id;
      return chosen;
    },
  };
}
