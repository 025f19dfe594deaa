/**
 * Ceiling for Bun: the least a proxy on Fairway's own APIs can do. Bun.serve in, fetch out with
 * `decompress: false`, and the server's body handed back natively (no JavaScript stream in between).
 */
import { HOP_BY_HOP, listeningLine, readEnv, roundRobin } from './common.mjs';

const { backends, host, port } = readEnv(process.env);
const next = roundRobin(backends);

const server = Bun.serve({
  hostname: host,
  port,
  idleTimeout: 0,
  async fetch(request) {
    const url = request.url;
    const target = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    const headers = new Headers(request.headers);
    for (const name of HOP_BY_HOP) headers.delete(name);
    headers.delete('host');
    try {
      return await fetch(next() + target, { method: request.method, headers, body: request.body, redirect: 'manual', decompress: false });
    } catch {
      return new Response('bad gateway', { status: 502 });
    }
  },
});
console.log(listeningLine('bun', server.port));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.stop(true);
    process.exit(0);
  });
}
