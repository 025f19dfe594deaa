/** Peak EWMA (Finagle, Linkerd): cost = peak-sensitive, time-decayed latency × (in-flight + 1), best of two random choices. */
import { type Candidate, type Clock, configuredWeight, type RandomSource, type SelectionAlgorithm, type WeightOf } from './algorithm.ts';
import { drawTwo } from './two-choices.ts';
import { weightedMembers } from './weighted-members.ts';

/**
 * Decay time constant τ, in ms (Finagle's and Linkerd's default): a sample's influence falls by e every 10 s,
 * whatever the request rate, so the estimate follows time rather than request count.
 */
export const PEAK_EWMA_DECAY_MS = 10_000;
/**
 * A server with no sample yet (Finagle's rule): while it has nothing in flight its cost is 0, so it is tried as
 * soon as it is drawn; while its first request is in flight its cost is this penalty, so a new or returning
 * server is not flooded before it has answered once. (A fixed guess such as Linkerd's 30 ms would starve a new
 * server for ever behind servers that answer in 1 ms, since it would never be chosen to get a sample.)
 */
export const PEAK_EWMA_UNSAMPLED_PENALTY_MS = 1e9;

/**
 * Each server keeps an estimate E and the time t of its last sample. Read at time now, the estimate is
 * E·e^(-(now - t)/τ): it decays toward 0 while no sample arrives, so a server that was slow once is retried
 * later instead of being shunned for ever. A sample r at time now sets E to r if r exceeds the current
 * estimate (peak: a slowdown counts at once), otherwise to E·w + r·(1 - w) with w = e^(-(now - t)/τ).
 * Cost = estimate × (inFlight + 1) / weight; of two servers drawn at random by weight, the cheaper wins.
 */
export function createPeakEwma<T extends Candidate>(
  random: RandomSource = Math.random,
  now: Clock = () => performance.now(),
  weightOf: WeightOf = configuredWeight,
): SelectionAlgorithm<T> {
  const members = weightedMembers<T>(weightOf);
  const estimate: number[] = [];
  const sampledAt: (number | undefined)[] = [];
  const pair: [number, number] = [-1, -1];

  const cost = (id: number, at: number): number => {
    const server = members.server(id)!;
    const stamp = sampledAt[id];
    if (stamp === undefined) return server.inFlight === 0 ? 0 : PEAK_EWMA_UNSAMPLED_PENALTY_MS;
    const current = estimate[id]! * Math.exp(-Math.max(at - stamp, 0) / PEAK_EWMA_DECAY_MS);
    return (current * (server.inFlight + 1)) / members.weight(id);
  };

  return {
    name: 'peak_ewma',
    available: members.available,
    unavailable: members.unavailable,
    responded(server, ms) {
      const id = server.id;
      const at = now();
      const stamp = sampledAt[id];
      if (stamp === undefined) {
        estimate[id] = ms;
      } else {
        const w = Math.exp(-Math.max(at - stamp, 0) / PEAK_EWMA_DECAY_MS);
        estimate[id] = ms > estimate[id]! * w ? ms : estimate[id]! * w + ms * (1 - w);
      }
      sampledAt[id] = at;
    },
    pick() {
      const [a, b] = drawTwo(members.sampler, random, pair);
      if (a === -1) return undefined;
      if (b === -1) return members.server(a);
      const at = now();
      return members.server(cost(b, at) < cost(a, at) ? b : a);
    },
  };
}
