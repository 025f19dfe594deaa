/** Least connections: sends each request to the server with the fewest in-flight requests per unit of weight. */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { createTieRotation } from './rotation.ts';

/**
 * Compares active/weight by cross-multiplying, so equal ratios such as 2/2 and 1/1 tie exactly
 * instead of depending on floating-point division.
 */
function byConnectionsPerWeight(a: Candidate, b: Candidate): number {
  return a.inFlight * b.weight - b.inFlight * a.weight;
}

export function createLeastConnections(): SelectionAlgorithm {
  // Under light load every server often has 0 active; rotating ties spreads those requests instead of
  // always sending them to the lowest id.
  const rotation = createTieRotation();
  return {
    name: 'least_connections',
    pick<T extends Candidate>(candidates: readonly T[]): T | undefined {
      return rotation.pickBest(candidates, byConnectionsPerWeight);
    },
  };
}
