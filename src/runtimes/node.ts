/** Node entrypoint: node:http with undici for proxied traffic, @hono/node-server for /lb/ and demo backends. */
import { getRequestListener } from '@hono/node-server';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Balancer } from '../core/balancer.ts';
import { startFairway } from '../core/bootstrap.ts';
import type { FetchHandler, ListeningServer, ServeOptions } from '../core/runtime/contracts.ts';
import { createNativeHandler } from './node/native-forwarder.ts';
import { createUndiciUpstream } from './node/undici-upstream.ts';
import { createNodeWorkers, hardwareConcurrency, REUSE_PORT } from './node/workers.ts';

const upstream = createUndiciUpstream();

function listen(server: Server, options: ServeOptions): Promise<ListeningServer> {
  // A cluster worker with its own SO_REUSEPORT socket (exclusive: not the primary's); before Node 22.12 the
  // primary holds the socket and hands connections out.
  const reusePort = options.reusePort === true && REUSE_PORT;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.hostname, ...(reusePort ? { exclusive: true, reusePort: true } : {}) }, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive sockets would hold close() open; busy ones finish their response first (with
            // `Connection: close`, see native-forwarder.ts) and then close.
            server.closeIdleConnections();
          }),
        // The shutdown deadline: streams and busy connections still open end now.
        terminate: () => server.closeAllConnections(),
      });
    });
  });
}

/** The Web path, for the demo backends: any fetch handler through @hono/node-server's request listener. */
function serveFetch(handler: FetchHandler, options: ServeOptions): Promise<ListeningServer> {
  const listener = getRequestListener((request: Request, env: { incoming: Pick<IncomingMessage, 'socket'> }) =>
    handler(request, { address: env.incoming.socket.remoteAddress }),
  );
  return listen(createServer(listener as RequestListener), options);
}

/** The native path for the balancer: node:http in, undici out, the core's Exchange in between. */
function serveBalancer(balancer: Balancer, options: ServeOptions): Promise<ListeningServer> {
  const admin = getRequestListener(balancer.admin.fetch) as RequestListener;
  // Node's default 300 s limit on receiving a whole request would cut long uploads.
  const server = createServer({ requestTimeout: 0 }, createNativeHandler(balancer, upstream, admin));
  return listen(server, options);
}

const started = await startFairway({
  name: 'node',
  version: process.version,
  env: process.env,
  hardwareConcurrency: hardwareConcurrency(),
  serve: serveFetch,
  serveBalancer,
  upstream,
  workers: createNodeWorkers(),
});
if (!started.ok) {
  console.error(started.message);
  process.exit(1);
}
// A cluster worker needs no watch on its supervisor: Node ends it when the IPC channel to the primary closes.
const stopAndExit = () => void started.stop().then(() => process.exit(0));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stopAndExit);
