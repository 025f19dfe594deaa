/** A weighted Maglev lookup table: slot → server, built from origins and weights alone. */
import { fnv1a64 } from '../upstream/fnv.ts';

/**
 * Table sizes are primes (Maglev needs every skip to be coprime with the size), in two fixed steps rather than
 * a function of N, so adding one server does not resize the table (which would move far more than 1/N of the keys).
 * The smaller table is used while it gives every server at least DISRUPTION_SLOTS_PER_SERVER slots and the
 * lightest server at least MIN_SLOTS_PER_SERVER; otherwise the larger (2.6 MB, built in about 50-150 ms of CPU).
 *  - Share: each server's count is within about one slot of its weighted quota, so its share of the key space is
 *    within 1/32 ≈ 3% of its fair share while the lightest server has 32 slots or more (true up to 10,000 servers
 *    of weights 1-5 in the larger table; very skewed weights at that size get a looser bound).
 *  - Disruption: Maglev moves somewhat more than the ideal 1/N of the keys when a server comes or goes, less so
 *    the more slots each server has: measured 1.0× the ideal at N = 3 and 10, 1.1× at N = 100 (655,373 slots),
 *    rising towards 2-4× at N = 1,000 and beyond, where the table holds only a few hundred slots per server.
 */
export const MAGLEV_SIZES = [65_537, 655_373] as const;
export const MIN_SLOTS_PER_SERVER = 32;
export const DISRUPTION_SLOTS_PER_SERVER = 4096;

export interface MaglevEntry {
  readonly url: string;
  readonly weight: number;
}

export function maglevSize(entries: readonly MaglevEntry[]): number {
  const total = entries.reduce((sum, e) => sum + e.weight, 0);
  const smallest = entries.reduce((min, e) => Math.min(min, e.weight), Infinity);
  const needed = entries.length === 0 ? 0 : Math.max((MIN_SLOTS_PER_SERVER * total) / smallest, DISRUPTION_SLOTS_PER_SERVER * entries.length);
  return MAGLEV_SIZES.find((size) => size >= needed) ?? MAGLEV_SIZES.at(-1)!;
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
