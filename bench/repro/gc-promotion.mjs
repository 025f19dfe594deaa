/**
 * Young-generation cost per request from a V8 `--trace-gc-nvp` log: scavenges, bytes promoted and surviving, and
 * pause time, each divided by the requests served (issue 12: Fairway's Node path promoted 4–7× the ceiling's bytes
 * per request; undici's stream() handler was most of it). Usage, with the target started as bench/run.mjs does:
 *   node_modules/node/bin/node --trace-gc-nvp src/runtimes/node.ts > gc.log   # then load it with wrk
 *   node bench/repro/gc-promotion.mjs gc.log <requests served>
 * Add `--min-semi-space-size=16 --max-semi-space-size=16` to both runs of a comparison: V8 sizes the young
 * generation by allocation rate, which otherwise moves promotion per request as much as the change compared.
 */
import fs from 'node:fs';

const [file, requests] = process.argv.slice(2);
if (!file || !(Number(requests) > 0)) {
  console.error('usage: node bench/repro/gc-promotion.mjs <--trace-gc-nvp log> <requests served>');
  process.exit(2);
}
const totals = { scavenges: 0, promoted: 0, survived: 0, scavengeMs: 0, majors: 0, majorMs: 0 };
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
  const at = line.indexOf('GC: {');
  if (at < 0) continue;
  const gc = JSON.parse(line.slice(at + 4));
  if (gc.gc === 's') {
    totals.scavenges++;
    totals.promoted += gc.promoted;
    totals.survived += gc.new_space_survived;
    totals.scavengeMs += gc.pause;
  } else {
    totals.majors++;
    totals.majorMs += gc.pause;
  }
}
const n = Number(requests);
console.log(
  `${totals.scavenges} scavenges, ${(totals.promoted / n).toFixed(0)} B/req promoted, ${(totals.survived / n).toFixed(0)} B/req survived, ` +
    `${((totals.scavengeMs * 1000) / n).toFixed(1)} µs/req in scavenges; ${totals.majors} mark-compacts, ${((totals.majorMs * 1000) / n).toFixed(1)} µs/req`,
);
