/** Structured logging through LogTape: JSON lines by default, human-readable with LOG_FORMAT=pretty. */
import { ansiColorFormatter, configureSync, getLogger, jsonLinesFormatter, type Logger, type LogRecord, type Sink } from '@logtape/logtape';
import type { LogFormat, LogLevelName } from './config/config-types.ts';
import { accessLogConfig, type AccessLogMode, type LineBatchWriter } from './stats/access-log.ts';

export type { Logger };

const ROOT = 'fairway';

/**
 * A value as it reads inside a sentence: strings bare (LogTape's formatters would JSON-quote them, giving
 * `listening on "http://…"`), a Symbol by its description, lists joined. The exact values stay in `properties`.
 */
export function plainValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'symbol') return value.description ?? 'unknown';
  if (value instanceof Error) return value.message;
  if (Array.isArray(value)) return value.map(plainValue).join(', ');
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** The record with its message rendered to one plain sentence (LogTape keeps templates as [text, value, text, ...]). */
export function withPlainMessage(record: LogRecord): LogRecord {
  if (record.message.length === 1) return record;
  let text = '';
  record.message.forEach((part, index) => {
    text += index % 2 === 0 ? String(part) : plainValue(part);
  });
  return { ...record, message: [text] };
}

/** One line per record on standard output, whatever the level, so one stream carries the whole story. */
function stdoutSink(format: LogFormat): Sink {
  const formatter = format === 'pretty' ? ansiColorFormatter : jsonLinesFormatter;
  return (record: LogRecord) => {
    const line = formatter(withPlainMessage(record));
    console.log(line.endsWith('\n') ? line.slice(0, -1) : line);
  };
}

/**
 * `accessLog` adds the per-request access log in its own category, whatever `level` says; `writeLines`, the runtime's
 * byte writer to standard output, writes its batches (console.log without it).
 */
export function configureLogging(level: LogLevelName, format: LogFormat, accessLog: AccessLogMode = 'off', writeLines?: LineBatchWriter): void {
  const access = accessLogConfig(accessLog, writeLines);
  configureSync({
    reset: true,
    sinks: { stdout: stdoutSink(format), ...access.sinks },
    loggers: [
      ...access.loggers,
      // LogTape calls it 'warning'; users write LOG_LEVEL=warn as in most tools.
      { category: [ROOT], lowestLevel: level === 'warn' ? 'warning' : level, sinks: ['stdout'] },
      // LogTape reports its own problems here; keep them visible but quiet.
      { category: ['logtape', 'meta'], lowestLevel: 'warning', sinks: ['stdout'] },
    ],
  });
}

export function logger(...category: string[]): Logger {
  return getLogger([ROOT, ...category]);
}
