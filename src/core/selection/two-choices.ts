/** Two distinct servers drawn at random by weight: the shared first step of power_of_two and peak_ewma. */
import type { RandomSource } from './algorithm.ts';
import type { WeightedSampler } from './weighted-sampler.ts';

/** Redraws before falling back to taking a's weight out, which costs two tree updates. */
const REDRAWS = 4;

/**
 * Draws slot a, then slot b from the others, so the pair is distinct whenever two servers are available (b is
 * then drawn with probability weight / (total - weight of a), as if a had been taken out). Returns -1 for b when
 * only one server is available; -1, -1 when none is.
 */
export function drawTwo(sampler: WeightedSampler, random: RandomSource, out: [number, number]): [number, number] {
  const a = sampler.sample(random);
  out[0] = a;
  out[1] = -1;
  if (a === -1) return out;
  const weight = sampler.weightOf(a);
  if (weight === sampler.total) return out;
  // Usually one redraw finds another server; only a server holding most of the weight needs the exact path.
  for (let i = 0; i < REDRAWS; i++) {
    const b = sampler.sample(random);
    if (b !== a) {
      out[1] = b;
      return out;
    }
  }
  sampler.set(a, 0);
  out[1] = sampler.sample(random);
  sampler.set(a, weight);
  return out;
}
