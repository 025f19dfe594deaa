/** Least response time: prefers servers that answer fast, scaled by how busy they are and by their weight. O(log n). */
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { IndexedHeap } from './indexed-heap.ts';
import { TurnStamps } from './turn-stamps.ts';

/** Weight of the newest sample in the per-request moving average: recent enough to follow a slowing server. */
export const LEAST_RESPONSE_TIME_ALPHA = 0.3;

/**
 * Orders by ewma * (inFlight + 1) / weight, cross-multiplied to avoid a division. Unsampled servers come
 * first: without a sample they would never get the traffic needed to obtain one. The "+ 1" counts the request
 * being placed, so an idle slow server still scores its latency and in-flight requests raise a fast one's score.
 */
export function createLeastResponseTime<T extends Candidate>(): SelectionAlgorithm<T> {
  const servers: T[] = [];
  const ewma: (number | undefined)[] = [];
  const turns = new TurnStamps();
  const heap = new IndexedHeap((a, b) => {
    const la = ewma[a];
    const lb = ewma[b];
    if (la === undefined || lb === undefined) {
      if (la !== lb) return la === undefined;
      return turns.before(a, b);
    }
    const sa = servers[a]!;
    const sb = servers[b]!;
    const scoreA = la * (sa.inFlight + 1) * sb.weight;
    const scoreB = lb * (sb.inFlight + 1) * sa.weight;
    return scoreA !== scoreB ? scoreA < scoreB : turns.before(a, b);
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
    name: 'least_response_time',
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
    responded(server, ms) {
      flush();
      const previous = ewma[server.id];
      ewma[server.id] = previous === undefined ? ms : previous + LEAST_RESPONSE_TIME_ALPHA * (ms - previous);
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
