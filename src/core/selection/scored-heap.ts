/** The least-score selection both least_connections and least_response_time are built on: a heap, re-sorted incrementally. */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { IndexedHeap } from './indexed-heap.ts';
import { TurnStamps } from './turn-stamps.ts';

export type ScoredHeap<T extends Candidate> = Required<Pick<SelectionAlgorithm<T>, 'available' | 'unavailable' | 'loadChanged' | 'pick'>> & {
  rescore(server: T): void;
};

/**
 * Picks the available server with the lowest `score`, O(log n) per pick and per change. Ties go to the server
 * picked longest ago, which rotates them in id order instead of always sending them to the lowest id (under
 * light load every server often scores the same). `rescore(id)` re-sorts one server after its score inputs
 * changed outside the pool's events (a new latency sample).
 */
export function createScoredHeap<T extends Candidate>(score: (server: T) => number): ScoredHeap<T> {
  const servers: T[] = [];
  const turns = new TurnStamps();
  const heap = new IndexedHeap();
  const place = (id: number) => heap.set(id, score(servers[id]!), turns.of(id));
  // The server just picked, whose tie-break stamp changed but which has not been re-sorted yet: the in-flight
  // change that follows a pick re-sorts it anyway, so one sift serves both (flushed before anything else).
  let unsorted = -1;
  const flush = () => {
    if (unsorted === -1) return;
    const id = unsorted;
    unsorted = -1;
    if (heap.has(id)) place(id);
  };
  return {
    available(server) {
      flush();
      servers[server.id] = server;
      place(server.id);
    },
    unavailable(server) {
      flush();
      heap.remove(server.id);
    },
    loadChanged(server) {
      if (unsorted !== server.id) flush();
      unsorted = -1;
      if (heap.has(server.id)) place(server.id);
    },
    rescore(server) {
      flush();
      if (heap.has(server.id)) place(server.id);
    },
    pick() {
      flush();
      const id = heap.peek();
      if (id === -1) return undefined;
      turns.picked(id);
      unsorted = id;
      return servers[id];
    },
  };
}
