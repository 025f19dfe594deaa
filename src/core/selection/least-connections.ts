/** Least connections: the server with the fewest in-flight requests per unit of weight, from a heap in O(log n). */
import { type Candidate, configuredWeight, type SelectionAlgorithm, type WeightOf } from './algorithm.ts';
import { createScoredHeap } from './scored-heap.ts';

export function createLeastConnections<T extends Candidate>(weightOf: WeightOf = configuredWeight): SelectionAlgorithm<T> {
  // inFlight / weight as a double: division is correctly rounded, so equal ratios such as 2/2 and 1/1 give the
  // same double and tie exactly.
  const { rescore: _rescore, ...heap } = createScoredHeap<T>((server) => server.inFlight / weightOf(server));
  return { name: 'least_connections', ...heap };
}
