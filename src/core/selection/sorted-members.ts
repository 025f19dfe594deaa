/** The available servers kept sorted by slot, so rotation "after the last one picked" survives membership changes. */
import type { Candidate } from './algorithm.ts';

/** Index of the first member whose id is greater than `id`, or `members.length`. */
export function indexAfter(members: readonly Candidate[], id: number): number {
  let low = 0;
  let high = members.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (members[mid]!.id <= id) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Inserts in id order; O(log n) search plus one array shift, paid only on membership changes. */
export function insertSorted<T extends Candidate>(members: T[], server: T): void {
  const at = indexAfter(members, server.id);
  if (at > 0 && members[at - 1] === server) return;
  members.splice(at, 0, server);
}

export function removeSorted<T extends Candidate>(members: T[], server: T): void {
  const at = indexAfter(members, server.id) - 1;
  if (at >= 0 && members[at] === server) members.splice(at, 1);
}
