/** Weighted round robin as earliest deadline first (Envoy's schedule): O(log n) per pick, exact ratios in every cycle. */
import { type Candidate, configuredWeight, type SelectionAlgorithm, type WeightOf } from './algorithm.ts';
import { IndexedHeap } from './indexed-heap.ts';

/** Cycle numbers are shifted back to 0 past this, so deadlines keep 2^-32 of precision (see below). */
const REBASE_CYCLE = 2 ** 20;

/**
 * A cycle is sum-of-weights picks. Server i's k-th turn in cycle c (k = 1..w_i) has the deadline
 * c + (2k - 1) / (2 w_i): its turns sit at the midpoints of w_i equal slices of the cycle, so they are spread
 * evenly, and every deadline of cycle c lies strictly inside (c, c + 1), so each cycle holds exactly w_i turns
 * of each server. Equal deadlines go to the lower id. Weights 5,1,1 give a a a b c a a.
 *
 * Deadlines are doubles: equal fractions round identically, and with c kept below 2^20 two different deadlines
 * of one cycle stay distinct while the product of their servers' weights is below about 10^9 (above that, turns
 * a hair apart may swap; the per-cycle counts stay exact, since c + (2k - 1) / 2w < c + 1 in doubles for any
 * allowed weight).
 */
export function createWeightedRoundRobin<T extends Candidate>(weightOf: WeightOf = configuredWeight): SelectionAlgorithm<T> {
  const servers: T[] = [];
  /** Each server's weight as read when it became available: its grid of turns must not move under it. */
  const weights: number[] = [];
  const cycle: number[] = [];
  /** 2k - 1 for the server's next turn. */
  const turn: number[] = [];
  const heap = new IndexedHeap();
  /** The deadline of the last pick: a server that joins starts from here, so it neither banks credit nor floods. */
  let nowCycle = 0;
  let nowTurn = 0;
  let nowSpan = 1;

  const place = (id: number) => heap.set(id, cycle[id]! + turn[id]! / (2 * weights[id]!), 0);

  const rebase = () => {
    for (const id of heap.ids) cycle[id]! -= nowCycle;
    nowCycle = 0;
    for (const id of [...heap.ids]) place(id);
  };

  return {
    name: 'weighted_round_robin',
    available(server) {
      const id = server.id;
      servers[id] = server;
      weights[id] = weightOf(server);
      // The first turn of this server's own grid that lies strictly after "now" in the current cycle:
      // the smallest odd m with m / 2w > nowTurn / nowSpan (integers: exact).
      const span = 2 * weights[id]!;
      let m = Math.floor((span * nowTurn) / nowSpan) + 1;
      if (m % 2 === 0) m++;
      if (m > span) {
        cycle[id] = nowCycle + 1;
        turn[id] = 1;
      } else {
        cycle[id] = nowCycle;
        turn[id] = m;
      }
      place(id);
    },
    unavailable(server) {
      heap.remove(server.id);
    },
    pick() {
      const id = heap.peek();
      if (id === -1) return undefined;
      const server = servers[id]!;
      nowCycle = cycle[id]!;
      nowTurn = turn[id]!;
      nowSpan = 2 * weights[id]!;
      if (turn[id]! + 2 > nowSpan) {
        cycle[id]!++;
        turn[id] = 1;
      } else {
        turn[id]! += 2;
      }
      place(id);
      if (nowCycle >= REBASE_CYCLE) rebase();
      return server;
    },
  };
}
