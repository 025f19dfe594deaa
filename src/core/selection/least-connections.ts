/** Least connections: the server with the fewest in-flight requests per unit of weight, from a heap in O(log n). */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { IndexedHeap } from './indexed-heap.ts';
import { TurnStamps } from './turn-stamps.ts';

export function createLeastConnections<T extends Candidate>(): SelectionAlgorithm<T> {
  const servers: T[] = [];
  // Under light load every server often has 0 in flight; ties go to the one picked longest ago, which rotates
  // them in id order instead of always sending them to the lowest id.
  const turns = new TurnStamps();
  const heap = new IndexedHeap();
  // inFlight / weight as a double: division is correctly rounded, so equal ratios such as 2/2 and 1/1 give the
  // same double and tie exactly.
  const place = (id: number) => {
    const server = servers[id]!;
    heap.set(id, server.inFlight / server.weight, turns.of(id));
  };
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
    name: 'least_connections',
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
