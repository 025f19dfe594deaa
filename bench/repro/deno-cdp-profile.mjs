/** CPU profile of a running Deno through --inspect (Deno has no --cpu-prof for `deno run`). Usage (Node 22+, for WebSocket): node deno-cdp-profile.mjs <inspector-port> <seconds> <out.cpuprofile> */
const [port, seconds, out] = process.argv.slice(2);
const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const ws = new WebSocket(list[0].webSocketDebuggerUrl);
let id = 0;
const pending = new Map();
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.id && pending.has(m.id)) {
    pending.get(m.id)(m);
    pending.delete(m.id);
  }
};
const send = (method, params = {}) =>
  new Promise((r) => {
    const i = ++id;
    pending.set(i, r);
    ws.send(JSON.stringify({ id: i, method, params }));
  });
await new Promise((r) => (ws.onopen = r));
await send('Profiler.enable');
await send('Profiler.setSamplingInterval', { interval: 200 });
await send('Profiler.start');
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const { result } = await send('Profiler.stop');
(await import('node:fs')).writeFileSync(out, JSON.stringify(result.profile));
console.log('wrote', out);
ws.close();
process.exit(0);
