/** Random: each pick draws a server with probability weight / total weight. O(log n). */
import type { Candidate, RandomSource, SelectionAlgorithm } from './algorithm.ts';
import { WeightedSampler } from './weighted-sampler.ts';

export function createRandom<T extends Candidate>(random: RandomSource = Math.random): SelectionAlgorithm<T> {
  const servers: T[] = [];
  const sampler = new WeightedSampler();
  return {
    name: 'random',
    available(server) {
      servers[server.id] = server;
      sampler.set(server.id, server.weight);
    },
    unavailable(server) {
      sampler.set(server.id, 0);
    },
    pick() {
      const id = sampler.sample(random);
      return id === -1 ? undefined : servers[id];
    },
  };
}
