/** Consistent hashing: a request's hash key maps to a server through a weighted Maglev table built from configuration alone. */
import { hash32 } from '../upstream/fnv.ts';
import type { Candidate, SelectionAlgorithm } from './algorithm.ts';
import { buildMaglevTable } from './maglev-table.ts';

/**
 * The table covers every configured server, available or not, so availability never changes it: a key whose
 * server is unavailable probes further slots (slot + i·step mod M, step from a second hash of the key, M prime
 * so all slots are visited) until it finds an available server. Only that server's keys move, spread over
 * the others, and they come back when it returns. Adding, removing or reweighting a server rebuilds the table
 * (about 1/N of the keys move). A pick costs one hash of the key plus, on average, 1 / (available share) probes.
 * Requests without a key are not picked here: the selector sends them to HASH_FALLBACK.
 */
export function createConsistentHash<T extends Candidate>(): SelectionAlgorithm<T> {
  /** Server by pool slot number. */
  let byId: T[] = [];
  /** Slot → server id (slot number in the pool). */
  let table = new Int32Array(0);
  const member: boolean[] = [];
  let members = 0;
  return {
    name: 'consistent_hash',
    configured(configured) {
      byId = [];
      for (const server of configured) byId[server.id] = server;
      const built = buildMaglevTable(configured);
      table = new Int32Array(built.table.length);
      for (let i = 0; i < table.length; i++) table[i] = configured[built.table[i]!]!.id;
    },
    available(server) {
      if (member[server.id]) return;
      member[server.id] = true;
      members++;
    },
    unavailable(server) {
      if (!member[server.id]) return;
      member[server.id] = false;
      members--;
    },
    pick(context) {
      const key = context.hashKey;
      if (key === undefined || members === 0 || table.length === 0) return undefined;
      const size = table.length;
      const hash = hash32(key);
      let slot = hash % size;
      let id = table[slot]!;
      if (member[id] !== true) {
        const step = (hash32(key, 0x9e3779b9) % (size - 1)) + 1;
        for (let probe = 1; probe < size && member[id] !== true; probe++) {
          slot = (slot + step) % size;
          id = table[slot]!;
        }
        if (member[id] !== true) return undefined;
      }
      return byId[id];
    },
  };
}
