/** Weighted round robin: nginx's "smooth" variant, which interleaves picks instead of sending bursts. */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';

export function createWeightedRoundRobin(): SelectionAlgorithm {
  // Current weights live outside the candidates (which the caller owns and rebuilds) and are keyed by id,
  // so a server keeps its place in the interleaving across picks and across leaving and returning.
  const current: number[] = [];
  return {
    name: 'weighted_round_robin',
    pick<T extends Candidate>(candidates: readonly T[]): T | undefined {
      let best: T | undefined;
      let bestCurrent = 0;
      let total = 0;
      // Only servers offered in this call accumulate: an absent server must not bank credit and then
      // flood when it returns.
      for (let i = 0; i < candidates.length; i++) {
        const candidate = candidates[i]!;
        const value = (current[candidate.id] ?? 0) + candidate.weight;
        current[candidate.id] = value;
        total += candidate.weight;
        // Strict ">" while walking in id order means ties go to the lowest id, which makes the
        // sequence deterministic (5,1,1 gives a a b a c a a).
        if (best === undefined || value > bestCurrent) {
          best = candidate;
          bestCurrent = value;
        }
      }
      // Subtracting the total keeps the sum of current weights constant, which is what makes every
      // cycle of `total` picks contain each server exactly `weight` times.
      if (best !== undefined) current[best.id] = bestCurrent - total;
      return best;
    },
  };
}
