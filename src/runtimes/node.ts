/** Node entrypoint: node:http with undici for proxied traffic, @hono/node-server for /lb/ and demo backends. */
import { getRequestListener } from '@hono/node-server';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Balancer } from '../core/balancer.ts';
import { startFairway } from '../core/bootstrap.ts';
import type { FetchHandler, ListeningServer, ServeOptions } from '../core/runtime/contracts.ts';
import { type BalancerServer, closeHttp2Sessions, createBalancerServer, swapCertificate } from './node/balancer-server.ts';
import { createNativeHandler } from './node/native-forwarder.ts';
import { createUndiciUpstream, createUpstreamAgent } from './node/undici-upstream.ts';
import { createUpgradeHandler } from './node/upgrade-handler.ts';
import { ProtocolFiles } from './shared/protocol-files.ts';
import { createNodeWorkers, hardwareConcurrency, REUSE_PORT } from './node/workers.ts';

const protocols = new ProtocolFiles();
// Built on first use, once UPSTREAM_CA_FILE has been read; the same options go to every WebSocket tunnel.
const upstream = createUndiciUpstream((options) => createUpstreamAgent({ tls: protocols.upstream, ...options }));

function listen(server: BalancerServer, options: ServeOptions): Promise<ListeningServer> {
  // A cluster worker with its own SO_REUSEPORT socket (exclusive: not the primary's); before Node 22.12 the
  // primary holds the socket and hands connections out.
  const reusePort = options.reusePort === true && REUSE_PORT;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const sockets = new Set<Socket>();
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server.listen({ port: options.port, host: options.hostname, ...(reusePort ? { exclusive: true, reusePort: true } : {}) }, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive sockets would hold close() open; busy ones finish their response first (with
            // `Connection: close`, see native-forwarder.ts) and then close. HTTP/2 sessions get GOAWAY.
            // (The TLS listener's HTTP/1.1 side has the call too; Node's types do not say so.)
            if ('closeIdleConnections' in server) server.closeIdleConnections();
            closeHttp2Sessions(server);
          }),
        // The shutdown deadline: streams and busy connections still open end now.
        terminate: () => {
          // Upgraded sockets (tunnels) are not node:http's any more: the core has asked them to close with 1001.
          if ('closeAllConnections' in server) server.closeAllConnections();
          // The HTTP/2 server has no such call: its sessions end here.
          else for (const socket of sockets) socket.destroy();
        },
      });
    });
  });
}

/** The Web path, for the demo backends: any fetch handler through @hono/node-server's request listener. */
function serveFetch(handler: FetchHandler, options: ServeOptions): Promise<ListeningServer> {
  const listener = getRequestListener((request: Request, env: { incoming: Pick<IncomingMessage, 'socket'> }) =>
    handler(request, { address: env.incoming.socket.remoteAddress })
  );
  return listen(createServer(listener as RequestListener), options);
}

/** The native path for the balancer: node:http in, undici out, the core's Exchange in between. */
function serveBalancer(balancer: Balancer, options: ServeOptions): Promise<ListeningServer> {
  const admin = getRequestListener(balancer.admin.fetch) as RequestListener;
  const handler = createNativeHandler(balancer, upstream, admin);
  const server = createBalancerServer(handler, protocols.serverTls, options.clientLimits);
  // With a listener, node:http no longer answers `Expect: 100-continue` itself: Fairway admits first (413 without 100).
  server.on('checkContinue', handler.checkContinue);
  server.on('upgrade', createUpgradeHandler(balancer, handler, () => protocols.upstream, () => protocols.relayLimits.idleTimeoutMs));
  if (protocols.serverTls !== undefined) protocols.onCertificateChange(async (tls) => swapCertificate(server, tls));
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
  protocols,
  workers: createNodeWorkers(),
});
if (!started.ok) {
  console.error(started.message);
  process.exit(1);
}
// A cluster worker needs no watch on its supervisor: Node ends it when the IPC channel to the primary closes.
const stopAndExit = () => void started.stop().then(() => process.exit(0));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stopAndExit);
// SIGHUP re-reads TLS_CERT_FILE and TLS_KEY_FILE; a supervisor passes it on to its workers, which serve TLS.
process.on('SIGHUP', () => {
  if (started.role === 'supervisor') { for (const pid of started.workerPids?.() ?? []) process.kill(pid, 'SIGHUP'); }
  else void protocols.reload();
});
