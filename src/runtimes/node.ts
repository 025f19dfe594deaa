/** Node entrypoint: serves the core through @hono/node-server and forwards with undici. */
import { serve } from '@hono/node-server';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFairway, type FetchHandler, type ListeningServer } from '../core/bootstrap.ts';
import { createUndiciUpstream } from './undici-upstream.ts';

function serveNode(handler: FetchHandler, options: { hostname: string; port: number }): Promise<ListeningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({
      fetch: (request: Request, env: { incoming: Pick<IncomingMessage, 'socket'> }) =>
        handler(request, { address: env.incoming.socket.remoteAddress }),
      hostname: options.hostname,
      port: options.port,
      // Node's default 300 s limit on receiving a whole request would cut long uploads; idle sockets still time out.
      serverOptions: { requestTimeout: 0 },
    });
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive sockets would hold close() open; busy ones finish their response first.
            if ('closeIdleConnections' in server) server.closeIdleConnections();
          }),
      });
    });
  });
}

const started = await startFairway({
  name: 'node',
  version: process.version,
  env: process.env,
  serve: serveNode,
  upstream: createUndiciUpstream(),
});
if (!started.ok) {
  console.error(started.message);
  process.exit(1);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void started.stop().then(() => process.exit(0));
  });
}
