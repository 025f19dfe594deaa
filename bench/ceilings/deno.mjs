/**
 * Ceiling for Deno: the least a proxy on Fairway's own APIs can do. Deno.serve in, fetch out (identity
 * encoding, as Fairway asks, so bytes pass through; the request's fields handed over as a plain record, Deno's
 * cheapest form), and the server's body handed back natively.
 */
import { HOP_BY_HOP, listeningLine, readEnv, roundRobin } from './common.mjs';

const { backends, host, port } = readEnv(Deno.env.toObject());
const next = roundRobin(backends);

const server = Deno.serve({ hostname: host, port, onListen: ({ port }) => console.log(listeningLine('deno', port)) }, async (request) => {
  const url = request.url;
  const target = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  // One forEach into a plain record: Deno converts a Headers argument to fetch (and to new Headers) as a generic
  // iterable, validating every field again; this form measured 1.28× the req/s of new Headers + delete + set
  // (bench/results/steps.ab-deno.md, the recordcopy row).
  const headers = {};
  request.headers.forEach((value, name) => {
    if (name !== 'host' && !HOP_BY_HOP.includes(name)) headers[name] = value;
  });
  headers['accept-encoding'] = 'identity';
  try {
    return await fetch(next() + target, { method: request.method, headers, body: request.body, redirect: 'manual' });
  } catch {
    return new Response('bad gateway', { status: 502 });
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) Deno.addSignalListener(signal, () => void server.shutdown().then(() => Deno.exit(0)));
