/**
 * What passing an AbortSignal to Deno's fetch costs per request: Fairway must (UPSTREAM_TIMEOUT_MS, the client
 * leaving, retries), the ceiling does not. fetch builds a Request, and a Request given a signal makes its own signal
 * that follows it (WHATWG Fetch: "dependent" signal): in Deno 2.9 a new AbortSignal, two WeakRefs and a
 * FinalizationRegistry entry each time, work for the GC too. Measured as CPU µs per request (process time, GC
 * included), batches of 50 in flight as wrk -c50 keeps them, against an origin in this same process, and for
 * `new Request(url, init)` alone.
 *
 *   deno run -A bench/repro/deno-fetch-signal.mjs          env: N (requests per run, default 20000)
 */
const N = Number(Deno.env.get('N') ?? 20_000);
const body = new Uint8Array(128);
const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, () => new Response(body, { headers: { 'content-type': 'text/plain' } }));
const url = `http://127.0.0.1:${server.addr.port}/small`;
const headers = [['user-agent', 'wrk'], ['accept', '*/*'], ['x-forwarded-for', '127.0.0.1'], ['x-request-id', crypto.randomUUID()]];

const cpu = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const variants = {
  'fetch, no signal': () => fetch(url, { headers, redirect: 'manual' }).then((r) => r.arrayBuffer()),
  'fetch, a new AbortController signal': () => fetch(url, { headers, redirect: 'manual', signal: new AbortController().signal }).then((r) => r.arrayBuffer()),
  'new Request, no signal': () => new Request(url, { headers, redirect: 'manual' }),
  'new Request, a new AbortController signal': () => new Request(url, { headers, redirect: 'manual', signal: new AbortController().signal }),
  'new AbortController() alone': () => new AbortController().signal,
};
async function run(fn) {
  const t0 = cpu();
  for (let i = 0; i < N; i += 50) await Promise.all(Array.from({ length: 50 }, fn));
  return (cpu() - t0) / N;
}
const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const fn of Object.values(variants)) await run(fn);
for (let r = 0; r < 5; r++) for (const [name, fn] of Object.entries(variants)) results[name].push(await run(fn));
console.log(`Deno ${Deno.version.deno}, CPU µs per request, median of 5 × ${N} (min–max):`);
for (const [name, xs] of Object.entries(results)) {
  xs.sort((a, b) => a - b);
  console.log(`  ${name.padEnd(44)} ${xs[2].toFixed(1).padStart(6)} (${xs[0].toFixed(1)}–${xs[4].toFixed(1)})`);
}
await server.shutdown();
