/**
 * Ceiling for Deno: the least a proxy on Fairway's own APIs can do. Deno.serve in, fetch out (identity
 * encoding, as Fairway asks, so bytes pass through), and the server's body handed back natively.
 */
import { HOP_BY_HOP, listeningLine, readEnv, roundRobin } from './common.mjs';

const { backends, host, port } = readEnv(Deno.env.toObject());
const next = roundRobin(backends);

const server = Deno.serve({ hostname: host, port, onListen: ({ port }) => console.log(listeningLine('deno', port)) }, async (request) => {
  const url = request.url;
  const target = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  const headers = new Headers(request.headers);
  for (const name of HOP_BY_HOP) headers.delete(name);
  headers.delete('host');
  headers.set('accept-encoding', 'identity');
  try {
    return await fetch(next() + target, { method: request.method, headers, body: request.body, redirect: 'manual' });
  } catch {
    return new Response('bad gateway', { status: 502 });
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) Deno.addSignalListener(signal, () => void server.shutdown().then(() => Deno.exit(0)));
