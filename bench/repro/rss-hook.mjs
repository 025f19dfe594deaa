/**
 * Loaded into the process measured by node-deno-rss.mjs (Node: `--import`; Deno: imported before the entry). Each time
 * the process's RSS reaches a new peak it writes what that RSS is made of to $RSS_HOOK_OUT: V8's heap spaces, the
 * runtime's memoryUsage(), and /proc/self/smaps summed by kind of mapping (the binary's file pages, other files, anonymous).
 */
import fs from 'node:fs';
import v8 from 'node:v8';

const out = globalThis.Deno ? Deno.env.get('RSS_HOOK_OUT') : process.env.RSS_HOOK_OUT;
const rss = globalThis.Deno ? () => Deno.memoryUsage().rss : () => process.memoryUsage.rss();
const usage = globalThis.Deno ? () => Deno.memoryUsage() : () => process.memoryUsage();
const KiB = 1024;

/** /proc/self/smaps, Rss summed per kind: the executable's own pages, other files, [heap] (brk malloc), [stack], other anonymous. */
function smapsByKind() {
  const exe = fs.realpathSync('/proc/self/exe');
  const kinds = { binary: 0, otherFiles: 0, brkHeap: 0, anonymous: 0 };
  let kind = 'anonymous';
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1];
      kind = name === exe ? 'binary' : name === '[heap]' ? 'brkHeap' : name.startsWith('/') ? 'otherFiles' : 'anonymous';
      continue;
    }
    const rssLine = /^Rss:\s+(\d+) kB/.exec(line);
    if (rssLine) kinds[kind] += Number(rssLine[1]) * KiB;
  }
  return kinds;
}

function snapshot(peak) {
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_size > 0) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size ?? s.space_size };
  }
  const heap = v8.getHeapStatistics();
  return {
    rss: peak,
    usage: usage(),
    spaces,
    heap: { physical: heap.total_physical_size, malloced: heap.malloced_memory, external: heap.external_memory },
    smaps: smapsByKind(),
  };
}

let peak = 0;
let last = 0;
function sample() {
  const now = rss();
  // A new peak, at most every 200 ms (smaps is a few hundred lines), and always the first 2 MiB above the last record.
  if (now > peak && (Date.now() - last > 200 || now > peak + 2 * 1024 * KiB)) {
    peak = now;
    last = Date.now();
    // Written aside and renamed, so the reader never sees half a file.
    fs.writeFileSync(`${out}.tmp`, JSON.stringify(snapshot(now)));
    fs.renameSync(`${out}.tmp`, out);
  }
}
if (out) {
  sample();
  const timer = setInterval(sample, 50);
  if (globalThis.Deno) Deno.unrefTimer(timer);
  else timer.unref();
}
