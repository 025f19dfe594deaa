/**
 * Pure helpers for WORKERS=N: how many workers, who this process is, how a worker tells its supervisor it
 * listens, and how the supervisor reads and tags a worker's output. No runtime APIs here; the spawning lives
 * in src/runtimes/ and the orchestration in supervisor.ts.
 */
import type { LogLevel, LogRecord } from '@logtape/logtape';
import { MAX_WORKERS, type WorkersSetting } from '../config/config-types.ts';

/** Set by the supervisor in each worker's environment: 1..N. Its presence makes a process a worker. */
export const WORKER_ID_VAR = 'FAIRWAY_WORKER_ID';

/** WORKERS as a number: 'auto' is one per logical CPU (at least 1, at most MAX_WORKERS). */
export function resolveWorkerCount(setting: WorkersSetting, hardwareConcurrency: number | undefined): number {
  if (setting !== 'auto') return setting;
  const cpus = Number.isInteger(hardwareConcurrency) && hardwareConcurrency! > 0 ? hardwareConcurrency! : 1;
  return Math.min(cpus, MAX_WORKERS);
}

export type WorkerIdResult = { ok: true; id: number | undefined } | { ok: false; message: string };

/** FAIRWAY_WORKER_ID: unset means not a worker. Only the supervisor sets it, so a bad value is a hard error. */
export function parseWorkerId(raw: string | undefined): WorkerIdResult {
  if (raw === undefined || raw === '') return { ok: true, id: undefined };
  if (/^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= MAX_WORKERS) return { ok: true, id: Number(raw) };
  return {
    ok: false,
    message: `${WORKER_ID_VAR}=${JSON.stringify(raw)} is not a worker id (1 to ${MAX_WORKERS}); it is set by Fairway's supervisor, unset it`,
  };
}

/** The `worker` field of /lb/stats. */
export interface WorkerIdentity {
  readonly id: number;
  readonly count: number;
  /** What the numbers beside it cover. */
  readonly scope: string;
}

/** `spreadBy` says what hands connections to workers: the kernel (SO_REUSEPORT) or a supervisor in turn. */
export function workerIdentity(id: number, count: number, spreadBy = 'the kernel'): WorkerIdentity {
  if (count <= 1) return { id, count: 1, scope: 'whole process' };
  return {
    id,
    count,
    scope: `this worker only: each of the ${count} workers keeps its own counts; connections are spread over them by ${spreadBy}`,
  };
}

/**
 * The readiness line a worker writes on stdout once it listens. It is not a log record, so LOG_LEVEL and
 * LOG_FORMAT cannot hide or reshape it; the supervisor consumes it and never passes it on.
 */
export const READY_PREFIX = '@fairway-worker-ready ';

export function readyLine(port: number): string {
  return `${READY_PREFIX}${JSON.stringify({ port })}`;
}

/** One LogTape jsonLines record as a worker writes it. */
export interface JsonLogLine {
  '@timestamp': string;
  level: string;
  message: string;
  logger: string;
  properties?: Record<string, unknown>;
}

export type WorkerLine =
  | { kind: 'ready'; port: number }
  | { kind: 'record'; record: JsonLogLine }
  | { kind: 'text'; text: string };

/** Classifies one line of a worker's stdout (without its line break). */
export function parseWorkerLine(line: string): WorkerLine {
  if (line.startsWith(READY_PREFIX)) {
    try {
      const port = (JSON.parse(line.slice(READY_PREFIX.length)) as { port?: unknown }).port;
      if (typeof port === 'number' && Number.isInteger(port) && port > 0) return { kind: 'ready', port };
    } catch {
      /* falls through to text */
    }
    return { kind: 'text', text: line };
  }
  if (line.startsWith('{')) {
    try {
      const parsed = JSON.parse(line) as Partial<JsonLogLine> | null;
      if (
        parsed !== null &&
        typeof parsed === 'object' &&
        typeof parsed['@timestamp'] === 'string' &&
        typeof parsed.level === 'string' &&
        typeof parsed.message === 'string' &&
        typeof parsed.logger === 'string' &&
        (parsed.properties === undefined || (typeof parsed.properties === 'object' && parsed.properties !== null))
      ) {
        return { kind: 'record', record: parsed as JsonLogLine };
      }
    } catch {
      /* not JSON: plain text */
    }
  }
  return { kind: 'text', text: line };
}

const LEVELS: Record<string, LogLevel> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warning',
  WARNING: 'warning',
  ERROR: 'error',
  FATAL: 'fatal',
};

/**
 * A worker's JSON record, back as a LogTape record tagged with properties.worker, for the supervisor to emit
 * through its own sinks: the same line in JSON format (timestamp kept), a readable one in pretty format.
 */
export function workerRecord(line: JsonLogLine, worker: number): Omit<LogRecord, 'category'> & { category: string[] } {
  const timestamp = Date.parse(line['@timestamp']);
  return {
    category: line.logger.split('.'),
    level: LEVELS[line.level.toUpperCase()] ?? 'info',
    timestamp: Number.isNaN(timestamp) ? Date.now() : timestamp,
    message: [line.message],
    rawMessage: line.message,
    properties: { ...line.properties, worker },
  };
}

/** Splits a byte or text stream into lines, keeping a partial last line until more arrives. */
export class LineSplitter {
  readonly #decoder = new TextDecoder();
  #partial = '';

  /** The complete lines in `chunk` (plus what was pending), without their line breaks. */
  push(chunk: Uint8Array | string): string[] {
    const text = this.#partial + (typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true }));
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }

  /** What is left once the stream ended: a last line without a line break, if any. */
  end(): string[] {
    const rest = this.#partial + this.#decoder.decode();
    this.#partial = '';
    return rest === '' ? [] : [rest];
  }
}

/** First restart after 100 ms, doubling per crash in a row, never more than 5 s apart. */
export const RESTART_BASE_MS = 100;
export const RESTART_MAX_MS = 5_000;
/** A worker that served this long before dying starts the backoff over. */
export const STABLE_AFTER_MS = 30_000;

/** Delay before restarting a worker that has crashed `crashesInARow` times (1 for the first). */
export function restartDelayMs(crashesInARow: number): number {
  const n = Math.max(1, Math.floor(crashesInARow));
  return Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.min(n - 1, 20));
}

/** The crash count after a worker that ran for `uptimeMs` died, given the count before. */
export function nextCrashCount(previous: number, uptimeMs: number): number {
  return uptimeMs >= STABLE_AFTER_MS ? 1 : previous + 1;
}

/** "code 1", "signal SIGKILL", for log messages. */
export function describeExit(exit: { code: number | null; signal: string | null }): string {
  if (exit.signal !== null) return `signal ${exit.signal}`;
  return exit.code === null ? 'unknown status' : `code ${exit.code}`;
}
