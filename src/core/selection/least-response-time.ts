/** Least response time: prefers servers that answer fast, scaled by how busy they are and by their weight. O(log n). */
import { type Candidate, configuredWeight, type SelectionAlgorithm, type WeightOf } from './algorithm.ts';
import { createScoredHeap } from './scored-heap.ts';

/** Weight of the newest sample in the per-request moving average: recent enough to follow a slowing server. */
export const LEAST_RESPONSE_TIME_ALPHA = 0.3;

/**
 * Orders by ewma * (inFlight + 1) / weight. Unsampled servers come first (score -Infinity): without a sample they
 * would never get the traffic needed to obtain one. The "+ 1" counts the request being placed, so an idle slow
 * server still scores its latency and in-flight requests raise a fast one's score. Ties go to the server picked
 * longest ago.
 */
export function createLeastResponseTime<T extends Candidate>(weightOf: WeightOf = configuredWeight): SelectionAlgorithm<T> {
  const ewma: (number | undefined)[] = [];
  const { rescore, ...heap } = createScoredHeap<T>((server) => {
    const latency = ewma[server.id];
    return latency === undefined ? -Infinity : (latency * (server.inFlight + 1)) / weightOf(server);
  });
  return {
    name: 'least_response_time',
    ...heap,
    responded(server, ms) {
      const previous = ewma[server.id];
      ewma[server.id] = previous === undefined ? ms : previous + LEAST_RESPONSE_TIME_ALPHA * (ms - previous);
      rescore(server);
    },
  };
}
