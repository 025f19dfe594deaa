/** Least connections: the server with the fewest in-flight requests per unit of weight, from a heap in O(log n). */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { IndexedHeap } from './indexed-heap.ts';
import { TurnStamps } from './turn-stamps.ts';

export function createLeastConnections<T extends Candidate>(): SelectionAlgorithm<T> {
  const servers: T[] = [];
  // Under light load every server often has 0 in flight; ties go to the one picked longest ago, which rotates
  // them in id order instead of always sending them to the lowest id.
  const turns = new TurnStamps();
  // inFlight/weight compared by cross-multiplying, so 2/2 and 1/1 tie exactly instead of depending on division.
  const heap = new IndexedHeap((a, b) => {
    const sa = servers[a]!;
    const sb = servers[b]!;
    const diff = sa.inFlight * sb.weight - sb.inFlight * sa.weight;
    return diff !== 0 ? diff < 0 : turns.before(a, b);
  });
  // The server just picked, whose tie-break stamp changed but which has not been re-sorted yet: the in-flight
  // change that follows a pick re-sorts it anyway, so one sift serves both (flushed before anything else).
  let unsorted = -1;
  const flush = () => {
    if (unsorted === -1) return;
    const id = unsorted;
    unsorted = -1;
    heap.update(id);
  };
  return {
    name: 'least_connections',
    available(server) {
      flush();
      servers[server.id] = server;
      heap.push(server.id);
    },
    unavailable(server) {
      flush();
      heap.remove(server.id);
    },
    loadChanged(server) {
      if (unsorted !== server.id) flush();
      unsorted = -1;
      heap.update(server.id);
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
