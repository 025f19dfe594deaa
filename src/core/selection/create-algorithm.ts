/** Maps a configured algorithm name to a fresh instance of that algorithm. */
import { type AlgorithmName, type AlgorithmOptions, type Candidate, configuredWeight, type SelectionAlgorithm } from './algorithm.ts';
import { createConsistentHash } from './consistent-hash.ts';
import { createLeastConnections } from './least-connections.ts';
import { createLeastResponseTime } from './least-response-time.ts';
import { createPeakEwma } from './peak-ewma.ts';
import { createPowerOfTwo } from './power-of-two.ts';
import { createRandom } from './random.ts';
import { createRoundRobin } from './round-robin.ts';
import { createWeightedRoundRobin } from './weighted-round-robin.ts';

// Typed as a Record over AlgorithmName so adding a name to ALGORITHM_NAMES fails to compile until it has a factory.
const FACTORIES: Readonly<Record<AlgorithmName, (options: AlgorithmOptions) => SelectionAlgorithm<Candidate>>> = {
  round_robin: () => createRoundRobin(),
  weighted_round_robin: (o) => createWeightedRoundRobin(o.weightOf ?? configuredWeight),
  least_connections: (o) => createLeastConnections(o.weightOf ?? configuredWeight),
  least_response_time: (o) => createLeastResponseTime(o.weightOf ?? configuredWeight),
  power_of_two: (o) => createPowerOfTwo(o.random, o.weightOf ?? configuredWeight),
  peak_ewma: (o) => createPeakEwma(o.random, o.now, o.weightOf ?? configuredWeight),
  // Its table is built from configured weights alone, so that keys stay where they are: a ramp does not apply.
  consistent_hash: () => createConsistentHash(),
  random: (o) => createRandom(o.random, o.weightOf ?? configuredWeight),
};

/**
 * Each call returns a new, empty instance: algorithms keep per-server state that must not be shared.
 * Feed it servers through `configured` / `available` (ServerPool.subscribe does that), or use createSelector.
 */
export function createAlgorithm<T extends Candidate>(name: AlgorithmName, options: AlgorithmOptions = {}): SelectionAlgorithm<T> {
  return FACTORIES[name](options) as SelectionAlgorithm<T>;
}
