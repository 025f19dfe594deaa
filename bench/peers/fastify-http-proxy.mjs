// Peer: a minimal round-robin proxy on fastify + @fastify/http-proxy (undici keep-alive pool underneath).
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import { announce, exitOnSignals, readEnv, roundRobin } from './common.mjs';

const { backends, host, port } = readEnv();
const next = roundRobin(backends);
const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
await app.register(proxy, {
  upstream: '',
  // The plugin takes one upstream; getUpstream picks one per request.
  replyOptions: { getUpstream: () => next() },
  // Keep-alive pool per origin (undici's default) with no cap that would queue requests.
  undici: { connections: 1024, pipelining: 1 },
});
await app.listen({ port, host });
announce('fastify-http-proxy', app.server.address().port);
exitOnSignals(() => app.close());
