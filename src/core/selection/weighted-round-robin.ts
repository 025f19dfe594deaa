/** Weighted round robin as earliest deadline first (Envoy's schedule): O(log n) per pick, exact ratios in every cycle. */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { IndexedHeap } from './indexed-heap.ts';

/**
 * A cycle is sum-of-weights picks. Server i's k-th turn in cycle c (k = 1..w_i) has the deadline
 * c + (2k - 1) / (2 w_i): its turns sit at the midpoints of w_i equal slices of the cycle, so they are spread
 * evenly, and every deadline of cycle c lies strictly inside (c, c + 1), so each cycle holds exactly w_i turns
 * of each server. Deadlines are kept as (cycle, 2k - 1, 2 w_i) and compared by cross-multiplication: exact
 * integers, no drift however long it runs. Equal deadlines go to the lower id. Weights 5,1,1 give a a a b c a a.
 */
export function createWeightedRoundRobin<T extends Candidate>(): SelectionAlgorithm<T> {
  const servers: T[] = [];
  const cycle: number[] = [];
  /** 2k - 1 for the server's next turn. */
  const turn: number[] = [];
  /** The deadline of the last pick: a server that joins starts from here, so it neither banks credit nor floods. */
  let nowCycle = 0;
  let nowTurn = 0;
  let nowSpan = 1;

  const before = (a: number, b: number): boolean => {
    if (cycle[a] !== cycle[b]) return cycle[a]! < cycle[b]!;
    const left = turn[a]! * 2 * servers[b]!.weight;
    const right = turn[b]! * 2 * servers[a]!.weight;
    return left !== right ? left < right : a < b;
  };
  const heap = new IndexedHeap(before);

  return {
    name: 'weighted_round_robin',
    available(server) {
      const id = server.id;
      servers[id] = server;
      // The first turn of this server's own grid that lies strictly after "now" in the current cycle:
      // the smallest odd m with m / 2w > nowTurn / nowSpan.
      const span = 2 * server.weight;
      let m = Math.floor((span * nowTurn) / nowSpan) + 1;
      if (m % 2 === 0) m++;
      if (m > span) {
        cycle[id] = nowCycle + 1;
        turn[id] = 1;
      } else {
        cycle[id] = nowCycle;
        turn[id] = m;
      }
      heap.push(id);
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
      nowSpan = 2 * server.weight;
      if (turn[id]! + 2 > nowSpan) {
        cycle[id]!++;
        turn[id] = 1;
      } else {
        turn[id]! += 2;
      }
      heap.update(id);
      return server;
    },
  };
}
