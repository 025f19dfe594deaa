/** Power of two choices (Envoy's least request): two distinct servers at random by weight; the one with fewer in-flight per weight wins. */
import type { Candidate, RandomSource, SelectionAlgorithm } from './algorithm.ts';
import { drawTwo } from './two-choices.ts';
import { WeightedSampler } from './weighted-sampler.ts';

export function createPowerOfTwo<T extends Candidate>(random: RandomSource = Math.random): SelectionAlgorithm<T> {
  const servers: T[] = [];
  const sampler = new WeightedSampler();
  const pair: [number, number] = [-1, -1];
  return {
    name: 'power_of_two',
    available(server) {
      servers[server.id] = server;
      sampler.set(server.id, server.weight);
    },
    unavailable(server) {
      sampler.set(server.id, 0);
    },
    pick() {
      const [a, b] = drawTwo(sampler, random, pair);
      if (a === -1) return undefined;
      if (b === -1) return servers[a];
      const sa = servers[a]!;
      const sb = servers[b]!;
      // Cross-multiplied inFlight/weight; a tie keeps the first draw, which is itself random.
      return sb.inFlight * sa.weight < sa.inFlight * sb.weight ? sb : sa;
    },
  };
}
