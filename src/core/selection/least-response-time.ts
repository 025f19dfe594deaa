/** Least response time: prefers servers that answer fast, scaled by how busy they are and by their weight. O(log n). */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { IndexedHeap } from './indexed-heap.ts';
import { TurnStamps } from './turn-stamps.ts';

/** Weight of the newest sample in the per-request moving average: recent enough to follow a slowing server. */
export const LEAST_RESPONSE_TIME_ALPHA = 0.3;

/**
 * Orders by ewma * (inFlight + 1) / weight. Unsampled servers come first (key -Infinity): without a sample they
 * would never get the traffic needed to obtain one. The "+ 1" counts the request being placed, so an idle slow
 * server still scores its latency and in-flight requests raise a fast one's score. Ties go to the server picked
 * longest ago.
 */
export function createLeastResponseTime<T extends Candidate>(): SelectionAlgorithm<T> {
  const servers: T[] = [];
  const ewma: (number | undefined)[] = [];
  const turns = new TurnStamps();
  const heap = new IndexedHeap();
  const place = (id: number) => {
    const server = servers[id]!;
    const latency = ewma[id];
    heap.set(id, latency === undefined ? -Infinity : (latency * (server.inFlight + 1)) / server.weight, turns.of(id));
  };
  // See least-connections.ts: the pick's re-sort is merged with the in-flight change that follows it.
  let unsorted = -1;
  const flush = () => {
    if (unsorted === -1) return;
    const id = unsorted;
    unsorted = -1;
    if (heap.has(id)) place(id);
  };
  return {
    name: 'least_response_time',
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
    responded(server, ms) {
      flush();
      const previous = ewma[server.id];
      ewma[server.id] = previous === undefined ? ms : previous + LEAST_RESPONSE_TIME_ALPHA * (ms - previous);
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
