/**
 * Starts Fairway on any runtime: validate the env, configure logging, start backends in demo mode, serve.
 * With WORKERS>1 the first process becomes a supervisor that runs that many workers on the one port.
 */
import { assembleBalancer, type Balancer } from './balancer.ts';
import { formatConfigErrors, parseConfig } from './config/config.ts';
import { countOf } from './plural.ts';
import type { Config, ServerConfig } from './config/config-types.ts';
import { configureLogging, type Logger, logger } from './logging.ts';
import { readyLine } from './workers/ready-line.ts';
import { drainAndClose, SHUTDOWN_MARGIN_MS } from './shutdown.ts';
import { resolveWorkerCount } from './workers/worker-count.ts';
import { parseWorkerId, WORKER_ID_VAR, workerIdentity } from './workers/worker-identity.ts';
import type { ListeningServer, RuntimeAdapter, ServeOptions } from './runtime/contracts.ts';
import { loadProtocols, serveRedirect } from './protocol-start.ts';

/** Re-exported for the runtimes' worker launchers. */
export type { WorkerExit, WorkerLauncher, WorkerProcess } from './workers/supervisor.ts';

/** `role` says what this process is: the only one, a worker, or the supervisor of WORKERS workers. */
export type StartResult =
  | { ok: true; role: 'single' | 'worker' | 'supervisor'; port: number; stop(): Promise<void>; workerPids?(): number[] }
  | { ok: false; message: string };

const DEMO_BACKENDS = 2;

// The demo backends (no BACKEND_SERVERS), the supervisor and its hub (WORKERS>1) and a worker's cluster membership load
// only when the settings ask for them, at start: the default configuration never runs them, and on Node 26 every module
// loaded also costs type stripping memory (bench/repro/startup-rss.mjs).

export async function startFairway(runtime: RuntimeAdapter): Promise<StartResult> {
  const parsed = parseConfig(runtime.env);
  if (!parsed.ok) return { ok: false, message: formatConfigErrors(parsed.errors) };
  const config = parsed.config;
  const workerId = parseWorkerId(runtime.env[WORKER_ID_VAR]);
  if (!workerId.ok) return { ok: false, message: formatConfigErrors([workerId.message]) };
  configureLogging(config.logLevel, config.logFormat, config.accessLog, runtime.writeLogLines);
  const protocols = await loadProtocols(runtime, config);
  if (!protocols.ok) return protocols;
  const count = resolveWorkerCount(config.workers, runtime.hardwareConcurrency);
  if (count > 1 && workerId.id === undefined) return startSupervisor(runtime, config, count);
  return startServing(runtime, config, workerId.id, count);
}

interface Backends {
  readonly servers: readonly ServerConfig[];
  /** The demo backends this process started, if any. */
  readonly demos: ListeningServer[];
}

async function backendsFor(runtime: RuntimeAdapter, config: Config, log: Logger): Promise<Backends> {
  if (config.servers !== undefined) return { servers: config.servers, demos: [] };
  const { createDemoBackend } = await import('./demo-backend.ts');
  const demos: ListeningServer[] = [];
  for (let i = 1; i <= DEMO_BACKENDS; i++) {
    demos.push(await runtime.serve(createDemoBackend(`demo-${i}`), { hostname: '127.0.0.1', port: 0 }));
  }
  const servers = demos.map((d) => ({ url: `http://127.0.0.1:${d.port}`, weight: 1 }));
  log.warn('BACKEND_SERVERS is not set: demo mode, balancing over {count} built-in demo backends on loopback', {
    event: 'demo_mode',
    count: servers.length,
    servers: servers.map((s) => s.url),
  });
  return { servers, demos };
}

/** The settings as the listening line shows them: the admin token only as set or not, never its value. */
const loggedConfig = (config: Config, servers: readonly ServerConfig[]) => ({
  ...config,
  servers,
  adminToken: config.adminToken === undefined ? undefined : '(set, not shown)',
});
const closeAll = (servers: readonly ListeningServer[]) => Promise.all(servers.map((s) => s.close()));
const displayHost = (host: string) => (host.includes(':') ? `[${host}]` : host);
const cannotListen = (config: Config, error: unknown) =>
  `Fairway cannot listen on HOST=${config.host} PORT=${config.port}: ${error instanceof Error ? error.message : String(error)}`;

/** One process serving the balancer: the whole of Fairway, or one worker of several. */
async function startServing(runtime: RuntimeAdapter, config: Config, workerId: number | undefined, count: number): Promise<StartResult> {
  const log = logger('main');
  const { servers, demos } = await backendsFor(runtime, config, log);
  const isWorker = workerId !== undefined;

  const parts = assembleBalancer(config, servers, runtime.upstream, workerIdentity(workerId ?? 1, count, runtime.workers?.spreadBy));
  const balancer = parts.balancer;
  // WORKERS>1: the supervisor probes and aggregates for all workers (cluster/); this worker shares its view.
  const member = workerId === undefined ? undefined : (await import('./cluster/cluster-member.ts')).clusterMemberFor(runtime.env, workerId, parts, log);
  // Joined before listening: with SO_REUSEPORT a worker gets connections as soon as it listens, and its first request
  // must already see the shared pool (a server the admin API drained or deleted stays so in a restarted worker).
  if (member !== undefined) {
    await member.start();
    parts.control.share(member);
  }
  let server: ListeningServer;
  try {
    const listen: ServeOptions = {
      hostname: config.host,
      port: config.port,
      reusePort: isWorker && count > 1,
      clientLimits: { headerTimeoutMs: config.clientHeaderTimeoutMs, keepAliveTimeoutMs: config.clientKeepAliveTimeoutMs },
    };
    server = runtime.serveBalancer ? await runtime.serveBalancer(balancer, listen) : await runtime.serve(balancer.fetch, listen);
  } catch (error) {
    member?.stop();
    await balancer.stop();
    await closeAll(demos);
    return { ok: false, message: cannotListen(config, error) };
  }
  const redirecting = await serveRedirect(runtime, config, server.port, isWorker && count > 1);
  if (!redirecting.ok) {
    member?.stop();
    await server.close();
    await balancer.stop();
    await closeAll(demos);
    return redirecting;
  }
  const redirect = redirecting.server;
  const adminListener = await serveAdminPort(runtime, config, balancer, isWorker && count > 1);
  if (!adminListener.ok) {
    member?.stop();
    await server.close();
    await balancer.stop();
    await closeAll(demos);
    return { ok: false, message: adminListener.message };
  }
  balancer.start({ activeHealthChecks: member === undefined });

  // A worker's line is not the `listening` line: the supervisor logs that once every worker listens.
  log.info(
    isWorker
      ? 'Worker {worker} listening on {url} ({runtime} {version}), {algorithm} over {serverCount}'
      : 'Fairway listening on {url} ({runtime} {version}), {algorithm} over {serverCount}',
    {
      event: isWorker ? 'worker_listening' : 'listening',
      ...(isWorker ? { worker: workerId } : {}),
      url: `${config.tls ? 'https' : 'http'}://${displayHost(config.host)}:${server.port}`,
      host: config.host,
      port: server.port,
      runtime: runtime.name,
      version: runtime.version,
      algorithm: config.algorithm,
      count: servers.length,
      serverCount: countOf(servers.length, 'server'),
      config: loggedConfig(config, servers),
    },
  );
  // Not a log record, so no LOG_LEVEL or LOG_FORMAT can hide it from the supervisor.
  if (isWorker) console.log(readyLine(server.port));

  let stopping: Promise<void> | undefined;
  return {
    ok: true,
    role: isWorker ? 'worker' : 'single',
    port: server.port,
    stop: () => (stopping ??= (async () => {
      const { shutdownDelayMs: delayMs, shutdownTimeoutMs: timeoutMs } = config.resilience;
      // Stop accepting first and let in-flight responses finish; only then close the upstream client they use.
      member?.stop();
      // Open tunnels count as in flight: the drain waits for them too, and closes those left with 1001 at its deadline.
      await drainAndClose(server, balancer, { delayMs, timeoutMs }, log);
      await redirect?.close();
      await adminListener.server?.close();
      // Bounded too: nothing a client or server does may hold the exit past the margin.
      await Promise.race([Promise.all([balancer.stop(), closeAll(demos)]), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_MARGIN_MS))]);
    })()),
  };
}

/** ADMIN_PORT: every /lb/ endpoint on its own listener (ADMIN_HOST, loopback by default), through the runtime's `serve`. */
async function serveAdminPort(
  runtime: RuntimeAdapter,
  config: Config,
  balancer: Balancer,
  sharePort: boolean,
): Promise<{ ok: true; server?: ListeningServer } | { ok: false; message: string }> {
  if (config.adminPort === undefined) return { ok: true };
  try {
    const server = await runtime.serve((request) => balancer.admin.fetch(request), {
      hostname: config.adminHost,
      port: config.adminPort,
      reusePort: sharePort,
    });
    logger('main').info('Admin endpoints listening on {url}', {
      event: 'admin_listening',
      url: `http://${displayHost(config.adminHost)}:${server.port}`,
      port: server.port,
    });
    return { ok: true, server };
  } catch (error) {
    return {
      ok: false,
      message: `Fairway cannot listen on ADMIN_HOST=${config.adminHost} ADMIN_PORT=${config.adminPort}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    };
  }
}

/** WORKERS>1: hold the port, start demo backends once, run `count` workers and wait until each listens. */
async function startSupervisor(runtime: RuntimeAdapter, config: Config, count: number): Promise<StartResult> {
  const log = logger('main');
  const launcher = runtime.workers;
  if (launcher === undefined) {
    return { ok: false, message: formatConfigErrors([`WORKERS=${count} is not supported on ${runtime.name}; use WORKERS=1`]) };
  }
  // Demo backends first: a port picked for PORT=0 and released could otherwise go to one of them.
  const { servers, demos } = await backendsFor(runtime, config, log);
  let port: number;
  try {
    port = await launcher.reservePort(config.host, config.port);
  } catch (error) {
    await closeAll(demos);
    return { ok: false, message: cannotListen(config, error) };
  }

  const [{ ClusterHub }, { Supervisor }] = await Promise.all([import('./cluster/cluster-hub.ts'), import('./workers/supervisor.ts')]);
  const hub = new ClusterHub(runtime, config, servers, count);
  let hubEnv: Record<string, string>;
  try {
    hubEnv = await hub.start(runtime);
  } catch (error) {
    await closeAll(demos);
    return { ok: false, message: `Fairway cannot open its workers' control channel on 127.0.0.1: ${error instanceof Error ? error.message : String(error)}` };
  }

  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(runtime.env)) if (value !== undefined) env[key] = value;
  Object.assign(env, {
    PORT: String(port),
    WORKERS: String(count),
    // Workers log JSON for the supervisor to read; it writes their records in the format asked for.
    LOG_FORMAT: 'json',
    // Every worker balances over the same servers: the demo backends run once, here.
    BACKEND_SERVERS: servers.map((s) => (s.weight === 1 ? s.url : `${s.url};weight=${s.weight}`)).join(','),
    ...hubEnv,
  });
  const supervisor = new Supervisor({
    count,
    env,
    launcher,
    // Each worker drains within SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS and its margins; a worker still up then is killed.
    stopGraceMs: config.resilience.shutdownDelayMs + config.resilience.shutdownTimeoutMs + 3 * SHUTDOWN_MARGIN_MS,
    prefixMessages: config.logFormat === 'pretty',
  });
  const started = await supervisor.start();
  if (!started.ok) {
    await hub.stop();
    await closeAll(demos);
    return { ok: false, message: `Fairway cannot start its ${count} workers: ${started.message}` };
  }

  log.info('Fairway listening on {url} ({runtime} {version}) with {workers} workers, {algorithm} over {serverCount}', {
    event: 'listening',
    url: `${config.tls ? 'https' : 'http'}://${displayHost(config.host)}:${port}`,
    host: config.host,
    port,
    runtime: runtime.name,
    version: runtime.version,
    algorithm: config.algorithm,
    count: servers.length,
    serverCount: countOf(servers.length, 'server'),
    workers: count,
    pids: supervisor.pids,
    config: loggedConfig(config, servers),
  });

  let stopping: Promise<void> | undefined;
  return {
    ok: true,
    role: 'supervisor',
    port,
    // SIGHUP goes on to the workers: each serves TLS itself (the entrypoints forward it).
    workerPids: () => supervisor.pids,
    stop: () => (stopping ??= (async () => {
      log.info('Shutting down {workers} workers', { event: 'shutdown', workers: count });
      await supervisor.stop();
      await hub.stop();
      await closeAll(demos);
    })()),
  };
}
