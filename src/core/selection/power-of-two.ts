/** Power of two choices (Envoy's least request): two distinct servers at random by weight; the one with fewer in-flight per weight wins. */
import { type Candidate, configuredWeight, type RandomSource, type SelectionAlgorithm, type WeightOf } from './algorithm.ts';
import { drawTwo } from './two-choices.ts';
import { weightedMembers } from './weighted-members.ts';

export function createPowerOfTwo<T extends Candidate>(random: RandomSource = Math.random, weightOf: WeightOf = configuredWeight): SelectionAlgorithm<T> {
  const members = weightedMembers<T>(weightOf);
  const pair: [number, number] = [-1, -1];
  return {
    name: 'power_of_two',
    available: members.available,
    unavailable: members.unavailable,
    pick() {
      const [a, b] = drawTwo(members.sampler, random, pair);
      if (a === -1) return undefined;
      if (b === -1) return members.server(a);
      const sa = members.server(a)!;
      const sb = members.server(b)!;
      // Cross-multiplied inFlight/weight; a tie keeps the first draw, which is itself random.
      return sb.inFlight * members.weight(a) < sa.inFlight * members.weight(b) ? sb : sa;
    },
  };
}
