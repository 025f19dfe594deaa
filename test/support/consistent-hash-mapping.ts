/**
 * Prints, as JSON, the server each of 2,000 keys maps to under consistent_hash with 25 servers (weights 1-3).
 * `reverse` as the first argument lists the servers in reverse order. Run as its own process by the unit tests.
 */
import { createSelector } from '../../src/core/selection/selector.ts';
import { ServerPool } from '../../src/core/upstream/server-pool.ts';

const g = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } };
const args = g.Deno ? g.Deno.args : g.process!.argv.slice(2);
const servers = Array.from({ length: 25 }, (_, i) => ({ url: `http://10.2.0.${i}:80`, weight: 1 + (i % 3) }));
if (args[0] === 'reverse') servers.reverse();
const selector = createSelector(new ServerPool(servers), { algorithm: 'consistent_hash' });
const out: string[] = [];
for (let i = 0; i < 2000; i++) out.push(selector.pick({ hashKey: `session-${i}` })!.url);
console.log(JSON.stringify(out));
