/**
 * The access log: one line per request through LogTape, in its own category so that LOG_LEVEL never hides
 * it, as JSON or in the nginx/Apache combined format, written through a non-blocking sink.
 */
import { getLogger, type LoggerConfig, type LogRecord, type Sink } from '@logtape/logtape';
import type { OutcomeSink, RequestOutcome } from './request-outcome.ts';

export const ACCESS_LOG_MODES = ['off', 'json', 'combined'] as const;
export type AccessLogMode = (typeof ACCESS_LOG_MODES)[number];

/** A root of its own, not under 'fairway': LOG_LEVEL configures that tree, and must not silence this one. */
export const ACCESS_LOG_CATEGORY = ['fairway-access'] as const;

/** The fields of one access log line, as they appear in JSON mode. */
export interface AccessLogEntry {
  readonly time: string;
  readonly requestId: string;
  readonly client: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The server that answered; null when Fairway answered itself. */
  readonly server: string | null;
  readonly attempts: number;
  /** Every server tried, in order, when there was more than one attempt. */
  readonly serversTried: readonly string[];
  /** Milliseconds to the upstream response headers; null without them. */
  readonly upstreamHeadersMs: number | null;
  readonly totalMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly referer: string;
  readonly userAgent: string;
}

const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The last start time formatted, and its text: requests that start in the same millisecond share one string. */
let lastTimeMs = Number.NaN;
let lastTimeText = '';
const isoTime = (ms: number): string => {
  if (ms !== lastTimeMs) {
    lastTimeText = new Date(ms).toISOString();
    lastTimeMs = ms;
  }
  return lastTimeText;
};

export function accessLogEntry(o: RequestOutcome): AccessLogEntry {
  return {
    time: isoTime(o.startedAt),
    requestId: o.requestId,
    client: o.clientAddress,
    method: o.method,
    path: o.target,
    status: o.status,
    server: o.server?.url ?? null,
    attempts: o.attempts,
    serversTried: o.serversTried,
    upstreamHeadersMs: o.headersMs === undefined ? null : roundMs(o.headersMs),
    totalMs: roundMs(o.totalMs),
    bytesIn: o.bytesIn,
    bytesOut: o.bytesOut,
    referer: o.referer ?? '',
    userAgent: o.userAgent ?? '',
  };
}

/** One JSON object per line; JSON.stringify escapes whatever the client put in the path or User-Agent. */
export function formatJson(entry: AccessLogEntry): string {
  return JSON.stringify(entry);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** `10/Oct/2000:13:55:36 +0000`, the combined format's time, in UTC. */
function combinedTime(iso: string): string {
  const d = new Date(iso);
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${
    two(d.getUTCSeconds())
  } +0000`;
}

/** As nginx does: quotes, backslashes and control characters as \xHH, so a client cannot forge or split a line. */
const escapeCombined = (text: string): string =>
  // deno-lint-ignore no-control-regex -- control characters are exactly what the combined format must escape
  text.replace(/["\\\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
const orDash = (text: string): string => (text === '' ? '-' : escapeCombined(text));

/**
 * nginx's `combined`: `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`.
 * The core does not see the HTTP version of the request line, so it is written as HTTP/1.1.
 */
export function formatCombined(e: AccessLogEntry): string {
  const request = `${escapeCombined(e.method)} ${escapeCombined(e.path)} HTTP/1.1`;
  return `${orDash(e.client)} - - [${combinedTime(e.time)}] "${request}" ${e.status} ${e.bytesOut === 0 ? '-' : e.bytesOut} "${orDash(e.referer)}" "${
    orDash(e.userAgent)
  }"`;
}

const ACCESS_LOG_TEMPLATE = '{method} {path} {status}';

/**
 * The LogTape record of one access log line, as `log.info(ACCESS_LOG_TEMPLATE, entry)` would make it, with the entry
 * as its properties. Made here and handed to `Logger.emit`: `info()` costs 2 to 4 µs more a request (bench/repro/
 * access-log-cost.ts) for what this category never uses: a lookup of its configuration before anything else, a
 * record with two closures, registered in a WeakSet, and two copies of the properties (to merge an implicit context
 * Fairway never sets, and to resolve lazy values it never passes). The message is rendered only if a sink reads it.
 */
class AccessLogRecord implements LogRecord {
  readonly category = ACCESS_LOG_CATEGORY;
  readonly level = 'info' as const;
  readonly rawMessage = ACCESS_LOG_TEMPLATE;
  readonly timestamp = Date.now();
  readonly properties: Record<string, unknown>;

  constructor(entry: AccessLogEntry) {
    this.properties = entry as unknown as Record<string, unknown>;
  }

  get message(): readonly unknown[] {
    const { method, path, status } = this.properties;
    return ['', method, ' ', path, ' ', status, ''];
  }
}

/** The access log's OutcomeSink: a no-op when off, otherwise one LogTape record per request. */
export function accessLogSink(mode: AccessLogMode): OutcomeSink {
  if (mode === 'off') return { record() {} };
  const log = getLogger([...ACCESS_LOG_CATEGORY]);
  return {
    record(o) {
      // The record carries its category: LogTape's emit() then dispatches it as it is, without copying its fields.
      log.emit(new AccessLogRecord(accessLogEntry(o)));
    },
  };
}

/** Formats a record the sink below receives: the entry travels as the record's properties. */
export function accessLogFormatter(mode: Exclude<AccessLogMode, 'off'>): (record: LogRecord) => string {
  const format = mode === 'json' ? formatJson : formatCombined;
  return (record) => format(record.properties as unknown as AccessLogEntry);
}

/**
 * LogTape's marker for a sink that consumes each record at once: LogTape then skips its per-record snapshot of the
 * properties (one more copy of every entry), which it takes for sinks that might keep the record for later.
 * LogTape's own console sink carries the same marker; this sink formats the record before returning.
 */
const IMMEDIATE_SINK = Symbol.for('LogTape.sinkSnapshotPolicy.immediate');
/** What LogTape's dispose() calls on a sink (its own fallback where the runtime has no Symbol.dispose). */
const DISPOSE: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('Symbol.dispose');

/** Writes one batch of whole lines, each ending in a line feed. It must be done with the bytes when it returns. */
export type LineBatchWriter = (lines: Uint8Array) => void;

const decoder = new TextDecoder();
/** The core's writer: one console.log per batch (which adds the last line feed back). */
const consoleWriter: LineBatchWriter = (lines) => console.log(decoder.decode(lines.subarray(0, lines.length - 1)));

const LINE_FEED = 10;

/**
 * A sink that formats each record at once and writes the lines in batches, one write per batch: every
 * `flushIntervalMs`, or as soon as a batch buffer of `batchBytes` is full. Written here rather than with LogTape's
 * non-blocking console sink, which keeps each record (and its properties) until its timer and then writes one line per
 * call: under load that was a write system call per request and hundreds of live records per flush (issue 12's profile).
 *
 * Each line is encoded into a reused byte buffer (`TextEncoder.encodeInto`) as soon as it is formatted, so the line's
 * string dies in the request that made it. Kept as strings until the flush (up to 1000 lines, 100 ms: one concatenated
 * string), the lines outlived several young-generation collections under load and were promoted, filling the old
 * space until a full collection, and each batch was a string of 300 KiB in the large-object space (bench/results/
 * s11-dmem.md). A batch is one write, from a timer, never from the request that logs; when a buffer fills, the next
 * one takes the lines until that timer runs. Disposing the sink (LogTape's dispose()) flushes.
 */
export function batchedLineSink(
  format: (record: LogRecord) => string,
  options: { readonly batchBytes: number; readonly flushIntervalMs: number; readonly write?: LineBatchWriter },
): Sink {
  const { batchBytes, flushIntervalMs, write = consoleWriter } = options;
  const encoder = new TextEncoder();
  let buffer: Uint8Array = new Uint8Array(batchBytes);
  let used = 0;
  /** Full batches waiting for the flush, oldest first. */
  const full: Uint8Array[] = [];
  /** One emptied buffer kept for the next batch. */
  let spare: Uint8Array | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    // Taken off the queue before writing: a write that throws (a closed stdout) loses its lines, never repeats them.
    const batches = full.splice(0);
    if (used > 0) batches.push(buffer.subarray(0, used));
    used = 0;
    for (const batch of batches) {
      if (batch.buffer !== buffer.buffer && batch.buffer.byteLength === batchBytes) spare = new Uint8Array(batch.buffer);
      write(batch);
    }
  };
  /** Appends `line` and its line feed to the current batch; false, with the batch unchanged, if they do not fit. */
  const append = (line: string): boolean => {
    const { read, written } = encoder.encodeInto(line, buffer.subarray(used));
    if (read < line.length || used + written >= batchBytes) return false;
    buffer[used + written] = LINE_FEED;
    used += written + 1;
    return true;
  };
  const sink = (record: LogRecord): void => {
    const line = format(record);
    if (!append(line)) {
      // The batch so far waits for the flush, written as soon as the event loop is free, never inside this request.
      if (used > 0) {
        full.push(buffer.subarray(0, used));
        buffer = spare ?? new Uint8Array(batchBytes);
        spare = undefined;
        used = 0;
      }
      // A line longer than a whole buffer is a batch of its own.
      if (!append(line)) full.push(encoder.encode(`${line}\n`));
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(flush, 0);
      return;
    }
    timer ??= setTimeout(flush, flushIntervalMs);
  };
  Object.defineProperty(sink, IMMEDIATE_SINK, { value: true });
  Object.defineProperty(sink, DISPOSE, { value: flush });
  return sink;
}

/**
 * The sink and logger entries to add to LogTape's configuration. Lines are written in batches (every 100 ms or
 * 64 KiB, about 200 lines), so the request that logs never waits for a write of its own; on shutdown LogTape's dispose()
 * flushes what is left.
 */
export function accessLogConfig(
  mode: AccessLogMode,
  write?: LineBatchWriter,
): { sinks: Record<string, Sink>; loggers: LoggerConfig<string, string>[] } {
  if (mode === 'off') return { sinks: {}, loggers: [] };
  const sink = batchedLineSink(accessLogFormatter(mode), { batchBytes: 64 * 1024, flushIntervalMs: 100, write });
  return {
    sinks: { access: sink },
    loggers: [{ category: [...ACCESS_LOG_CATEGORY], lowestLevel: 'info', sinks: ['access'] }],
  };
}
