/** Starts Fairway on any runtime: validate the env, configure logging, start backends in demo mode, serve. */
import { createBalancer, type Balancer } from './balancer.ts';
import { formatConfigErrors, parseConfig } from './config.ts';
import type { ServerConfig } from './config-types.ts';
import { createDemoBackend } from './demo-backend.ts';
import { configureLogging, logger } from './logging.ts';
import type { UpstreamClient } from './upstream-client.ts';

import type { ClientInfo } from './forwarded-headers.ts';

export type { ClientInfo };
/** What a runtime serves: a Web request plus what its connection says about the client. */
export type FetchHandler = (request: Request, client: ClientInfo) => Response | Promise<Response>;

export interface ListeningServer {
  /** The port actually bound (differs from the one asked for when that was 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** What each runtime entrypoint provides: its env, a way to serve a fetch handler, and an upstream client. */
export interface RuntimeAdapter {
  readonly name: string;
  readonly version: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  serve(handler: FetchHandler, options: { hostname: string; port: number }): Promise<ListeningServer>;
  /** A native I/O path for the balancer itself, driving the same policy; `serve` is used when absent. */
  serveBalancer?(balancer: Balancer, options: { hostname: string; port: number }): Promise<ListeningServer>;
  readonly upstream: UpstreamClient;
}

export type StartResult = { ok: true; port: number; stop(): Promise<void> } | { ok: false; message: string };

const DEMO_BACKENDS = 2;

export async function startFairway(runtime: RuntimeAdapter): Promise<StartResult> {
  const parsed = parseConfig(runtime.env);
  if (!parsed.ok) return { ok: false, message: formatConfigErrors(parsed.errors) };
  const config = parsed.config;
  configureLogging(config.logLevel, config.logFormat);
  const log = logger('main');

  const demos: ListeningServer[] = [];
  let servers: readonly ServerConfig[];
  if (config.servers === undefined) {
    for (let i = 1; i <= DEMO_BACKENDS; i++) {
      demos.push(await runtime.serve(createDemoBackend(`demo-${i}`), { hostname: '127.0.0.1', port: 0 }));
    }
    servers = demos.map((d) => ({ url: `http://127.0.0.1:${d.port}`, weight: 1 }));
    log.warn('BACKEND_SERVERS is not set: demo mode, balancing over {count} built-in demo backends on loopback', {
      event: 'demo_mode',
      count: servers.length,
      servers: servers.map((s) => s.url),
    });
  } else {
    servers = config.servers;
  }

  const balancer = createBalancer(config, servers, runtime.upstream);
  let server: ListeningServer;
  try {
    const listen = { hostname: config.host, port: config.port };
    server = runtime.serveBalancer ? await runtime.serveBalancer(balancer, listen) : await runtime.serve(balancer.fetch, listen);
  } catch (error) {
    await balancer.stop();
    await Promise.all(demos.map((d) => d.close()));
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, message: `Fairway cannot listen on HOST=${config.host} PORT=${config.port}: ${why}` };
  }
  balancer.start();

  const displayHost = config.host.includes(':') ? `[${config.host}]` : config.host;
  log.info('Fairway listening on {url} ({runtime} {version}), {algorithm} over {count} servers', {
    event: 'listening',
    url: `http://${displayHost}:${server.port}`,
    host: config.host,
    port: server.port,
    runtime: runtime.name,
    version: runtime.version,
    algorithm: config.algorithm,
    count: servers.length,
    config: { ...config, servers },
  });

  let stopping: Promise<void> | undefined;
  return {
    ok: true,
    port: server.port,
    stop: () =>
      (stopping ??= (async () => {
        log.info('Shutting down', { event: 'shutdown' });
        // Stop accepting first and let in-flight responses finish; only then close the upstream client they use.
        await server.close();
        await balancer.stop();
        await Promise.all(demos.map((d) => d.close()));
      })()),
  };
}
