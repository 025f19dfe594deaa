/** The available servers of a random-draw algorithm (random, power_of_two, peak_ewma), drawn by weight. */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { WeightedSampler } from './weighted-sampler.ts';

export interface WeightedMembers<T extends Candidate> extends Pick<SelectionAlgorithm<T>, 'available' | 'unavailable'> {
  readonly sampler: WeightedSampler;
  /** The server in slot `id` (available or not). */
  server(id: number): T | undefined;
}

/** An unavailable server keeps its slot with weight 0, so it is never drawn and costs no rebuild. */
export function weightedMembers<T extends Candidate>(): WeightedMembers<T> {
  const servers: T[] = [];
  const sampler = new WeightedSampler();
  return {
    sampler,
    server: (id) => servers[id],
    available(server) {
      servers[server.id] = server;
      sampler.set(server.id, server.weight);
    },
    unavailable(server) {
      sampler.set(server.id, 0);
    },
  };
}
