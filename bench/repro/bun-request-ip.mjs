/**
 * What two per-request steps Fairway cannot skip cost on Bun.serve's real requests, timed inside the handler
 * (Bun.nanoseconds) so the client's cost does not count: `server.requestIP(request)` (the client address, for
 * X-Forwarded-For and the access log) and `request.signal` with an abort listener added and removed (the client
 * going away). Bun 1.4.5 calls getpeername(2) on every requestIP (`strace -c -e getpeername` counts one per call):
 * about 2.5 µs here, of Fairway's ~94 µs of CPU per request; a second call costs as much, so nothing is cached.
 * Bun would need to keep the peer address it already has when it accepts the connection.
 *
 *   bun bench/repro/bun-request-ip.mjs      (env N: requests per round, default 20000)
 */
const N = Number(process.env.N ?? 20_000);
let spent = { ip: 0, again: 0, signal: 0, n: 0 };
let sink = 0;
const server = Bun.serve({
  port: 0,
  idleTimeout: 0,
  fetch(request, srv) {
    const a = Bun.nanoseconds();
    sink += srv.requestIP(request)?.address.length ?? 0;
    const b = Bun.nanoseconds();
    sink += srv.requestIP(request)?.address.length ?? 0;
    const c = Bun.nanoseconds();
    const onAbort = () => sink++;
    request.signal.addEventListener('abort', onAbort);
    request.signal.removeEventListener('abort', onAbort);
    const d = Bun.nanoseconds();
    spent.ip += b - a;
    spent.again += c - b;
    spent.signal += d - c;
    spent.n++;
    return new Response('ok');
  },
});
const url = `http://127.0.0.1:${server.port}/`;
console.log(`Bun ${Bun.version}, ${N} requests a round, 50 at a time, ns per request:`);
for (let round = 0; round < 5; round++) {
  spent = { ip: 0, again: 0, signal: 0, n: 0 };
  for (let i = 0; i < N; i += 50) await Promise.all(Array.from({ length: 50 }, () => fetch(url).then((r) => r.arrayBuffer())));
  const ns = (x) => String(Math.round(x / spent.n)).padStart(5);
  console.log(`  requestIP ${ns(spent.ip)}   requestIP again ${ns(spent.again)}   signal + abort listener ${ns(spent.signal)}`);
}
server.stop(true);
