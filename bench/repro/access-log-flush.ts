/**
 * What writing the access log's batches costs on Deno, per line, without sockets: a 64 KiB batch of Fairway-like JSON
 * lines decoded and passed to console.log (the core's default writer), the same bytes through Deno.stdout.writeSync
 * (src/runtimes/deno/stdout-lines.ts), the old sink's one joined string to console.log, and encoding the lines into the
 * buffer alone. Usage: deno run -A bench/repro/access-log-flush.ts console|write|oldstr|encode > /dev/null
 */
// The few Deno APIs used here: the repo's tsconfig type-checks bench/ without Deno's types.
declare const Deno: { args: string[]; stdout: { writeSync(bytes: Uint8Array): number } };

const line = JSON.stringify({
  time: new Date().toISOString(),
  requestId: crypto.randomUUID(),
  client: '127.0.0.1',
  method: 'GET',
  path: '/small',
  status: 200,
  server: 'http://127.0.0.1:42201',
  attempts: 1,
  serversTried: [],
  upstreamHeadersMs: 1.234,
  totalMs: 2.345,
  bytesIn: 0,
  bytesOut: 128,
  referer: '',
  userAgent: '',
});
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const buffer = new Uint8Array(64 * 1024);
const lines: string[] = [];
let used = 0;
for (;;) {
  const { written } = encoder.encodeInto(line, buffer.subarray(used));
  if (used + written + 1 >= buffer.length) break;
  buffer[used + written] = 10;
  used += written + 1;
  lines.push(line);
}
const batch = buffer.subarray(0, used);
const joined = lines.join('\n');
const writeAll = (bytes: Uint8Array) => {
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
};
const modes: Record<string, () => void> = {
  console: () => console.log(decoder.decode(batch.subarray(0, batch.length - 1))),
  write: () => writeAll(batch),
  oldstr: () => console.log(joined),
  encode: () => {
    let at = 0;
    for (const l of lines) {
      const { written } = encoder.encodeInto(l, buffer.subarray(at));
      buffer[at + written] = 10;
      at += written + 1;
    }
  },
};
const mode = Deno.args[0] ?? 'console';
const run = modes[mode];
if (run === undefined) throw new Error(`mode ${mode}: expected one of ${Object.keys(modes).join(', ')}`);
const batches = 2000;
for (let i = 0; i < 200; i++) run();
const start = performance.now();
for (let i = 0; i < batches; i++) run();
const us = (performance.now() - start) * 1000;
console.error(`${mode}: ${lines.length} lines a batch, ${(us / batches).toFixed(1)} µs a batch, ${(us / (batches * lines.length)).toFixed(2)} µs a line`);
