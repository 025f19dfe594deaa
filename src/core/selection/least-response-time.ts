/** Least response time: prefers servers that answer fast, scaled by how busy they are and by their weight. */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { createTieRotation } from './rotation.ts';

/**
 * Orders by latencyEwmaMs * (inFlight + 1) / weight, cross-multiplied to avoid a division.
 * Unsampled servers come first: without a sample they would otherwise never get the traffic needed to
 * obtain one. The "+ 1" counts the request being placed, so an idle slow server still scores its latency
 * and in-flight requests raise a fast server's score.
 */
function byExpectedLatency(a: Candidate, b: Candidate): number {
  const latencyA = a.latencyEwmaMs;
  const latencyB = b.latencyEwmaMs;
  if (latencyA === undefined) return latencyB === undefined ? 0 : -1;
  if (latencyB === undefined) return 1;
  const scoreA = latencyA * (a.inFlight + 1) * b.weight;
  const scoreB = latencyB * (b.inFlight + 1) * a.weight;
  return scoreA < scoreB ? -1 : scoreA > scoreB ? 1 : 0;
}

export function createLeastResponseTime(): SelectionAlgorithm {
  // One cursor serves both kinds of tie (several unsampled servers, or equal scores), so each kind
  // cycles through its members in id order.
  const rotation = createTieRotation();
  return {
    name: 'least_response_time',
    pick<T extends Candidate>(candidates: readonly T[]): T | undefined {
      return rotation.pickBest(candidates, byExpectedLatency);
    },
  };
}
