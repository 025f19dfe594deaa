/**
 * What reading `request.signal` and `info.completed` costs a Deno.serve handler under real sockets (issue 12, Deno).
 *
 * Deno.serve makes a request's signal on first access and then waits on an async op (op_http_request_on_cancel) for
 * the connection to drop. Without `--unstable-no-legacy-abort` (or `"unstable": ["no-legacy-abort"]` in deno.json, as
 * Fairway's has), Deno also aborts that signal after every successful response, which builds a DOMException and
 * dispatches an event per request. `info.completed` is made on first access too. The ceiling touches none of them.
 *
 * Each mode runs a server in a child Deno (a 128-byte answer, no upstream), loaded with wrk -t1 -c50; CPU is the
 * child's user+system time over the load, so the figure is per request served, sockets included.
 *   deno run -A bench/repro/deno-serve-request-signal.mjs [seconds=4] [rounds=2]
 * Needs wrk on PATH and Linux (/proc). Run it under the bench lock: flock /tmp/bench.lock deno run -A ...
 */
const seconds = Number(Deno.args[0] ?? 4);
const rounds = Number(Deno.args[1] ?? 2);

const SERVER = `
const mode = Deno.env.get('MODE');
const body = new Uint8Array(128).fill(97);
Deno.serve({ hostname: '127.0.0.1', port: Number(Deno.env.get('PORT')), onListen() { console.log('ready'); } }, (request, info) => {
  if (mode.startsWith('signal')) request.signal.addEventListener('abort', () => {});
  if (mode === 'completed') info.completed.then(() => {}, () => {});
  return new Response(body, { headers: { 'content-type': 'text/plain' } });
});`;

const MODES = [
  { name: 'plain (as the ceiling)', mode: 'plain', flags: [] },
  { name: 'request.signal + listener, no-legacy-abort', mode: 'signal', flags: ['--unstable-no-legacy-abort'] },
  { name: 'request.signal + listener, legacy abort (Deno 2.9 default)', mode: 'signal-legacy', flags: [] },
  { name: 'info.completed.then', mode: 'completed', flags: [] },
];

const dir = await Deno.makeTempDir();
const script = `${dir}/server.mjs`;
await Deno.writeTextFile(script, SERVER);

const cpuTicks = async (pid) => {
  const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100 per second)
};
const peakRssMiB = async (pid) => Number(/VmHWM:\s+(\d+)/.exec(await Deno.readTextFile(`/proc/${pid}/status`))[1]) / 1024;

async function measure({ mode, flags }, port) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ['run', '-A', '--no-config', ...flags, script],
    env: { MODE: mode, PORT: String(port) },
    stdout: 'piped',
    stderr: 'null',
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read(); // 'ready'
  const url = `http://127.0.0.1:${port}/`;
  await new Deno.Command('wrk', { args: ['-t1', '-c50', '-d1s', url], stdout: 'null' }).output(); // warm-up
  const before = await cpuTicks(child.pid);
  const out = new TextDecoder().decode((await new Deno.Command('wrk', { args: ['-t1', '-c50', `-d${seconds}s`, url], stdout: 'piped' }).output()).stdout);
  const cpu = (await cpuTicks(child.pid)) - before;
  const rss = await peakRssMiB(child.pid);
  child.kill('SIGKILL');
  await child.status;
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  return { rps: requests / seconds, cpuUs: (cpu * 10_000) / requests, rss };
}

let port = 19_700;
const results = new Map(MODES.map((m) => [m.name, []]));
for (let round = 0; round < rounds; round++) {
  for (const m of MODES) results.get(m.name).push(await measure(m, port++));
}
console.log(`Deno ${Deno.version.deno}, wrk -t1 -c50 -d${seconds}s, ${rounds} rounds interleaved (median)`);
const median = (xs) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, runs] of results) {
  const f = (key, digits) => median(runs.map((r) => r[key])).toFixed(digits);
  console.log(`${name.padEnd(62)} ${f('rps', 0).padStart(7)} req/s  ${f('cpuUs', 1).padStart(6)} µs CPU/req  peak RSS ${f('rss', 1)} MiB`);
}
await Deno.remove(dir, { recursive: true });
