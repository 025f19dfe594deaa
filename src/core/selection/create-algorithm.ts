/** Maps a configured algorithm name to a fresh instance of that algorithm. */
import type { AlgorithmName, SelectionAlgorithm } from './algorithm.ts';
import { createLeastConnections } from './least-connections.ts';
import { createLeastResponseTime } from './least-response-time.ts';
import { createRoundRobin } from './round-robin.ts';
import { createWeightedRoundRobin } from './weighted-round-robin.ts';

// Typed as a Record over AlgorithmName so adding a name to ALGORITHM_NAMES fails to compile until it has a factory.
const FACTORIES: Readonly<Record<AlgorithmName, () => SelectionAlgorithm>> = {
  round_robin: createRoundRobin,
  weighted_round_robin: createWeightedRoundRobin,
  least_connections: createLeastConnections,
  least_response_time: createLeastResponseTime,
};

/** Each call returns a new instance, because algorithms keep rotation state that must not be shared. */
export function createAlgorithm(name: AlgorithmName): SelectionAlgorithm {
  return FACTORIES[name]();
}
