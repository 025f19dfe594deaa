/** Two distinct servers drawn at random by weight: the shared first step of power_of_two and peak_ewma. */
import type { RandomSource } from './algorithm.ts';
import type { WeightedSampler } from './weighted-sampler.ts';

/**
 * Draws slot a, then slot b from the others (a's weight is taken out for the second draw and put back), so the
 * pair is distinct whenever two servers are available. Returns -1 for b when only one is; -1, -1 when none is.
 */
export function drawTwo(sampler: WeightedSampler, random: RandomSource, out: [number, number]): [number, number] {
  const a = sampler.sample(random);
  out[0] = a;
  out[1] = -1;
  if (a === -1) return out;
  const weight = sampler.weightOf(a);
  sampler.set(a, 0);
  out[1] = sampler.sample(random);
  sampler.set(a, weight);
  return out;
}
