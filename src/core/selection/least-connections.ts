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
  return {
    name: 'least_connections',
    available(server) {
      servers[server.id] = server;
      heap.push(server.id);
    },
    unavailable(server) {
      heap.remove(server.id);
    },
    loadChanged(server) {
      heap.update(server.id);
    },
    pick() {
      const id = heap.peek();
      if (id === -1) return undefined;
      turns.picked(id);
      heap.update(id);
      return servers[id];
    },
  };
}
