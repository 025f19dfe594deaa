/** The available servers of a random-draw algorithm (random, power_of_two, peak_ewma), drawn by weight. */
import { type Candidate, configuredWeight, type SelectionAlgorithm, type WeightOf } from './algorithm.ts';
import { WeightedSampler } from './weighted-sampler.ts';

export interface WeightedMembers<T extends Candidate> extends Pick<SelectionAlgorithm<T>, 'available' | 'unavailable'> {
  readonly sampler: WeightedSampler;
  /** The server in slot `id` (available or not). */
  server(id: number): T | undefined;
  /** The weight slot `id` is drawn with: read from `weightOf` when it became available (0 while unavailable). */
  weight(id: number): number;
}

/** An unavailable server keeps its slot with weight 0, so it is never drawn and costs no rebuild. */
export function weightedMembers<T extends Candidate>(weightOf: WeightOf = configuredWeight): WeightedMembers<T> {
  const servers: T[] = [];
  const sampler = new WeightedSampler();
  return {
    sampler,
    server: (id) => servers[id],
    weight: (id) => sampler.weightOf(id),
    available(server) {
      servers[server.id] = server;
      sampler.set(server.id, weightOf(server));
    },
    unavailable(server) {
      sampler.set(server.id, 0);
    },
  };
}
