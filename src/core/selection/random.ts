/** Random: each pick draws a server with probability weight / total weight. O(log n). */
import { type Candidate, configuredWeight, type RandomSource, type SelectionAlgorithm, type WeightOf } from './algorithm.ts';
import { weightedMembers } from './weighted-members.ts';

export function createRandom<T extends Candidate>(random: RandomSource = Math.random, weightOf: WeightOf = configuredWeight): SelectionAlgorithm<T> {
  const members = weightedMembers<T>(weightOf);
  return {
    name: 'random',
    available: members.available,
    unavailable: members.unavailable,
    pick() {
      const id = members.sampler.sample(random);
      return id === -1 ? undefined : members.server(id);
    },
  };
}
