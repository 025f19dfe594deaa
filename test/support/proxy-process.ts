/**
 * Starts the proxy as a child process under one runtime and talks to it as a black box.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describeExit } from '../../scripts/lib/processes.mjs';
import { REPO_ROOT, type Runtime } from './runtimes.ts';

/** One parsed LogTape jsonLines record (fields we rely on; anything else is kept). */
export interface LogLine {
  '@timestamp'?: string;
  level?: string;
  message?: string;
  logger?: string | string[];
  properties?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Environment for the child: a value of `undefined` removes the variable. */
export type ProxyEnv = Record<string, string | undefined>;

export interface ProxyHandle {
  readonly runtime: Runtime;
  readonly pid: number;
  readonly port: number;
  /** Base URL to send requests to, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Parsed JSON log lines from stdout, appended live. */
  readonly logs: LogLine[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first log line (already seen or future) matching `pred`. */
  waitForLog(pred: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Log lines whose properties.event equals `event`. */
  events(event: string): LogLine[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. Idempotent. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Config variables of the product: removed from the inherited environment so the caller's shell cannot leak in. */
export const CONFIG_VARS = [
  'WORKERS',
  'FAIRWAY_WORKER_ID',
  'ALGORITHM',
  'BACKEND_SERVERS',
  'HOST',
  'PORT',
  'HEALTH_CHECK_PATH',
  'HEALTH_CHECK_INTERVAL_MS',
  'HEALTH_CHECK_TIMEOUT_MS',
  'UPSTREAM_TIMEOUT_MS',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'TRUST_PROXY',
  'PRESERVE_HOST',
  'MAX_REQUEST_BODY_BYTES',
  'HEALTH_CHECK_RISE',
  'HEALTH_CHECK_FALL',
  'HEALTH_CHECK_EXPECT',
  'OUTLIER_CONSECUTIVE_FAILURES',
  'OUTLIER_BASE_EJECTION_MS',
  'OUTLIER_MAX_EJECTION_MS',
  'OUTLIER_MAX_EJECTION_PERCENT',
  'OUTLIER_COUNT_5XX',
  'RETRIES',
  'RETRY_ON_STATUS',
  'RETRY_DEADLINE_MS',
  'RETRY_BUDGET_PERCENT',
  'RETRY_BUFFER_BYTES',
  'RESPONSE_BUFFER_BYTES',
  'UPSTREAM_CONNECT_TIMEOUT_MS',
  'SLOW_START_MS',
  'PANIC_THRESHOLD_PERCENT',
  'MAX_REQUESTS_PER_SERVER',
  'QUEUE_TIMEOUT_MS',
  'QUEUE_MAX_LENGTH',
  'SHUTDOWN_DELAY_MS',
  'SHUTDOWN_TIMEOUT_MS',
  'CLIENT_HEADER_TIMEOUT_MS',
  'CLIENT_KEEPALIVE_TIMEOUT_MS',
  'CLIENT_BODY_TIMEOUT_MS',
  'UPSTREAM_READ_TIMEOUT_MS',
  'VIA',
  'REWRITE_LOCATION',
  'HASH_KEY',
  'HASH_FALLBACK',
  'STICKY_COOKIE',
  'STICKY_COOKIE_MAX_AGE',
  'STICKY_COOKIE_SAMESITE',
  'STICKY_COOKIE_SECURE',
] as const;

/** Defaults every test gets unless it overrides them. */
export const DEFAULT_ENV: ProxyEnv = {
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_FORMAT: 'json',
  LOG_LEVEL: 'info',
  HEALTH_CHECK_INTERVAL_MS: '100',
  HEALTH_CHECK_TIMEOUT_MS: '1000',
};

const START_TIMEOUT_MS = Number(process.env.FAIRWAY_START_TIMEOUT_MS ?? 30_000);
const MAX_CAPTURE = 4 * 1024 * 1024;

/** Children still running: killed (by PID) if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export function buildEnv(env: ProxyEnv, defaults: ProxyEnv = DEFAULT_ENV): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const k of CONFIG_VARS) delete out[k];
  // Set by `node --test` for its workers; meaningless (or harmful) for the child.
  delete out.NODE_TEST_CONTEXT;
  delete out.NODE_OPTIONS;
  out.NO_COLOR = '1';
  delete out.FORCE_COLOR;
  for (const [k, v] of Object.entries({ ...defaults, ...env })) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

interface Spawned {
  child: ChildProcess;
  logs: LogLine[];
  emitter: EventEmitter;
  stdout(): string;
  stderr(): string;
  exited: Promise<ExitInfo>;
}

function spawnRuntime(runtime: Runtime, env: NodeJS.ProcessEnv): Spawned {
  const child = spawn(runtime.command, [...runtime.args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const logs: LogLine[] = [];
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let out = '';
  let err = '';
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    if (out.length < MAX_CAPTURE) out += chunk;
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl).trim();
      partial = partial.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        continue;
      }
      logs.push(parsed);
      emitter.emit('log', parsed);
    }
  });
  child.stderr!.on('data', (chunk: string) => {
    if (err.length < MAX_CAPTURE) err += chunk;
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
      emitter.emit('exit', { code, signal });
    });
    child.once('error', (e) => {
      // spawn failure (ENOENT, EACCES): no 'exit' follows.
      live.delete(child);
      err += `\n[spawn error] ${e.message}\n`;
      resolve({ code: null, signal: null });
      emitter.emit('exit', { code: null, signal: null });
    });
  });
  return { child, logs, emitter, stdout: () => out, stderr: () => err, exited };
}

function describeOutput(runtime: Runtime, s: Pick<Spawned, 'stdout' | 'stderr'>): string {
  const tail = (t: string) => (t.length > 4000 ? '…' + t.slice(-4000) : t);
  return `[${runtime.name}] ${runtime.command} ${runtime.args.join(' ')}\n--- stdout ---\n${tail(s.stdout())}\n--- stderr ---\n${tail(s.stderr())}`;
}

function waitForLogLine(
  s: Spawned,
  runtime: Runtime,
  pred: (l: LogLine) => boolean,
  timeoutMs: number,
  what: string,
): Promise<LogLine> {
  const found = s.logs.find(pred);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      s.emitter.off('log', onLog);
      s.emitter.off('exit', onExit);
    };
    const onLog = (l: LogLine) => {
      if (pred(l)) {
        cleanup();
        resolve(l);
      }
    };
    const onExit = (info: ExitInfo) => {
      cleanup();
      reject(new Error(`process ended (${describeExit(info)}) before ${what}\n${describeOutput(runtime, s)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${describeOutput(runtime, s)}`));
    }, timeoutMs);
    s.emitter.on('log', onLog);
    s.emitter.once('exit', onExit);
    if (s.child.exitCode !== null || s.child.signalCode !== null) onExit({ code: s.child.exitCode, signal: s.child.signalCode });
  });
}

async function stopChild(s: Spawned, graceMs: number): Promise<ExitInfo> {
  const { child } = s;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return s.exited;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceful = await Promise.race([
    s.exited.then(() => true),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (!graceful) child.kill('SIGKILL');
  return s.exited;
}

export const isEvent = (event: string) => (l: LogLine) => l.properties?.event === event;

/**
 * Spawns the proxy (cwd = repo root) and resolves once it logs `event: "listening"`.
 * Rejects with the collected output if the process exits first or the deadline passes.
 */
export async function startProxy(
  runtime: Runtime,
  env: ProxyEnv = {},
  opts: { timeoutMs?: number } = {},
): Promise<ProxyHandle> {
  const s = spawnRuntime(runtime, buildEnv(env));
  let listening: LogLine;
  try {
    listening = await waitForLogLine(s, runtime, isEvent('listening'), opts.timeoutMs ?? START_TIMEOUT_MS, 'the "listening" log line');
  } catch (e) {
    await stopChild(s, 2000);
    throw e;
  }
  const port = listening.properties?.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0) {
    await stopChild(s, 2000);
    throw new Error(`"listening" log line has no numeric properties.port: ${JSON.stringify(listening)}`);
  }
  return {
    runtime,
    pid: s.child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    logs: s.logs,
    stdout: s.stdout,
    stderr: s.stderr,
    waitForLog: (pred, timeoutMs = 10_000) => waitForLogLine(s, runtime, pred, timeoutMs, 'a matching log line'),
    events: (event) => s.logs.filter(isEvent(event)),
    stop: (graceMs = 5000) => stopChild(s, graceMs),
  };
}

export interface RunResult extends ExitInfo {
  stdout: string;
  stderr: string;
  logs: LogLine[];
  timedOut: boolean;
}

/** Runs the proxy expecting it to exit by itself (config errors); killed after `timeoutMs`. */
export async function runToExit(
  runtime: Runtime,
  env: ProxyEnv = {},
  opts: { timeoutMs?: number } = {},
): Promise<RunResult> {
  const s = spawnRuntime(runtime, buildEnv(env));
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    s.exited,
    new Promise<null>((r) => {
      timer = setTimeout(() => r(null), opts.timeoutMs ?? START_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  let info: ExitInfo;
  if (result === null) {
    timedOut = true;
    info = await stopChild(s, 2000);
  } else {
    info = result;
  }
  // Let the pipes drain: 'exit' can fire before the last stdio chunk is read.
  await Promise.all(
    [s.child.stdout!, s.child.stderr!].map(
      (st) =>
        new Promise<void>((r) => {
          if (st.readableEnded || st.destroyed) return r();
          const t = setTimeout(r, 2000);
          st.once('close', () => {
            clearTimeout(t);
            r();
          });
        }),
    ),
  );
  return { ...info, stdout: s.stdout(), stderr: s.stderr(), logs: s.logs, timedOut };
}
