/** A weighted Maglev lookup table: slot → server, built from origins and weights alone. */
import { fnv1a64 } from '../upstream/fnv.ts';

/**
 * Table sizes are primes (Maglev needs the skip to be coprime with the size). The smallest size with at least
 * MIN_SLOTS_PER_SERVER slots per server is used, so a server's share of the key space is within about
 * 1 / MIN_SLOTS_PER_SERVER of its fair share (each server's count is within one slot of its weighted quota).
 * Sizes come in fixed steps rather than as a function of N, so adding one server does not resize the table
 * (which would move far more than 1/N of the keys).
 */
export const MAGLEV_SIZES = [65_537, 655_373, 6_553_577] as const;
export const MIN_SLOTS_PER_SERVER = 32;

export interface MaglevEntry {
  readonly url: string;
  readonly weight: number;
}

export function maglevSize(entries: readonly MaglevEntry[]): number {
  const total = entries.reduce((sum, e) => sum + e.weight, 0);
  const smallest = entries.reduce((min, e) => Math.min(min, e.weight), Infinity);
  // Slots the lightest server would get must reach MIN_SLOTS_PER_SERVER, as far as the largest table allows.
  const needed = entries.length === 0 ? 0 : (MIN_SLOTS_PER_SERVER * total) / smallest;
  return MAGLEV_SIZES.find((size) => size >= needed) ?? MAGLEV_SIZES[MAGLEV_SIZES.length - 1];
}

/**
 * Returns, for each slot, the index into `entries` of the server that owns it (-1 only when entries is empty).
 * Entries are first sorted by origin, so the table depends on the set of (origin, weight) pairs and not on the
 * order they were configured in: two instances with the same servers build the same table.
 *
 * Population (Eisenbud et al., "Maglev", NSDI 2016, §3.4), weighted as Envoy does: each round, every server's
 * credit grows by weight / maxWeight and while it holds a whole credit it claims the next free slot in its
 * own permutation (offset + j·skip mod M, from two halves of FNV-1a 64 of its origin).
 */
export function buildMaglevTable(entries: readonly MaglevEntry[], size = maglevSize(entries)): { table: Int32Array; order: number[] } {
  const table = new Int32Array(size).fill(-1);
  const order = entries.map((_, i) => i).sort((a, b) => (entries[a]!.url < entries[b]!.url ? -1 : entries[a]!.url > entries[b]!.url ? 1 : 0));
  const n = order.length;
  if (n === 0) return { table, order };
  // `position` walks each server's permutation offset, offset + skip, offset + 2·skip ... (mod size) by addition.
  const position = new Int32Array(n);
  const skip = new Int32Array(n);
  const credit = new Float64Array(n);
  const share = new Float64Array(n);
  const maxWeight = entries.reduce((max, e) => Math.max(max, e.weight), 0);
  for (let k = 0; k < n; k++) {
    const hash = fnv1a64(entries[order[k]!]!.url);
    position[k] = Number(hash & 0xffffffffn) % size;
    skip[k] = (Number(hash >> 32n) % (size - 1)) + 1;
    share[k] = entries[order[k]!]!.weight / maxWeight;
  }
  let filled = 0;
  while (filled < size) {
    for (let k = 0; k < n && filled < size; k++) {
      credit[k]! += share[k]!;
      while (credit[k]! >= 1 && filled < size) {
        credit[k]! -= 1;
        let slot = position[k]!;
        const step = skip[k]!;
        while (table[slot] !== -1) {
          slot += step;
          if (slot >= size) slot -= size;
        }
        table[slot] = order[k]!;
        slot += step;
        position[k] = slot >= size ? slot - size : slot;
        filled++;
      }
    }
  }
  return { table, order };
}
