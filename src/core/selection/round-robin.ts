/** Round robin: each available server in turn, in configured order, regardless of load or weight. */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { indexAfter, insertSorted, removeSorted } from './sorted-members.ts';

export function createRoundRobin<T extends Candidate>(): SelectionAlgorithm<T> {
  const members: T[] = [];
  // The last id picked, not an index: when a server leaves or returns the list shifts, and "next id after the
  // last one" keeps configured order. The index is recomputed only on membership changes, so a pick is O(1).
  let lastId = -1;
  let next = 0;
  const reposition = () => {
    next = indexAfter(members, lastId);
  };
  return {
    name: 'round_robin',
    available(server) {
      insertSorted(members, server);
      reposition();
    },
    unavailable(server) {
      removeSorted(members, server);
      reposition();
    },
    pick() {
      if (members.length === 0) return undefined;
      if (next >= members.length) next = 0;
      const chosen = members[next++]!;
      lastId = chosen.id;
      return chosen;
    },
  };
}
