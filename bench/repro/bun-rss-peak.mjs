/**
 * Where a Bun process's peak RSS under load goes: a preload that samples VmRSS every 50 ms and, at each new peak
 * (at most every 0.5 s), writes JavaScriptCore's heap figures and /proc/self/smaps by kind (Bun's executable, other
 * files, anonymous, JIT code) to /tmp/bun-rss-peak-TAG-PID.json. Works for any Bun program, Fairway or a ceiling.
 *
 *   BUN_OPTIONS=--preload=bench/repro/bun-rss-peak.mjs PEAK_TAG=fairway npm run start:bun     (then load it with wrk)
 *   BUN_OPTIONS=--preload=$PWD/bench/repro/bun-rss-peak.mjs flock /tmp/bench.lock node bench/run.mjs --targets 'fairway-bun-rr$|ceiling-bun' ...
 *
 * `--preload=FILE` with the `=`: Bun puts BUN_OPTIONS before `run`, where a separate argument breaks `bun run`.
 * The sampler itself adds a little (its module and a 50 ms timer).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { heapStats } from 'bun:jsc';

const out = `/tmp/bun-rss-peak-${process.env.PEAK_TAG ?? 'bun'}-${process.pid}.json`;
const mib = (kib) => Math.round(kib / 102.4) / 10;
const field = (status, name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)[1]);

/** Resident KiB of /proc/self/smaps by kind of mapping. */
function residentByKind() {
  const kinds = {};
  let kind = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+\s+(\S+)\s+\S+\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (mapping) {
      const [, perms, name] = mapping;
      kind = name === process.execPath
        ? 'bun executable'
        : name.startsWith('/')
        ? 'other files'
        : name.startsWith('[')
        ? name
        : perms.includes('x')
        ? 'JIT code'
        : 'anonymous';
      continue;
    }
    const rss = /^Rss:\s+(\d+)/.exec(line);
    if (rss) kinds[kind] = (kinds[kind] ?? 0) + Number(rss[1]);
  }
  return Object.fromEntries(Object.entries(kinds).filter(([, kib]) => kib >= 100).map(([k, kib]) => [k, mib(kib)]));
}

let peak = 0;
let written = 0;
setInterval(() => {
  const status = readFileSync('/proc/self/status', 'utf8');
  const rss = field(status, 'VmRSS');
  if (rss <= peak) return;
  peak = rss;
  if (Date.now() - written < 500) return;
  written = Date.now();
  const heap = heapStats();
  writeFileSync(
    out,
    JSON.stringify({
      rssMiB: mib(rss),
      anonMiB: mib(field(status, 'RssAnon')),
      fileMiB: mib(field(status, 'RssFile')),
      heapSizeMiB: mib(heap.heapSize / 1024),
      heapCapacityMiB: mib(heap.heapCapacity / 1024),
      extraMemoryMiB: mib(heap.extraMemorySize / 1024),
      objects: heap.objectCount,
      residentMiB: residentByKind(),
    }),
  );
}, 50).unref();
