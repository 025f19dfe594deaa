/** A worker's JSON log line turned back into a LogTape record, tagged with the worker id, for the supervisor's sinks. */
import type { LogLevel, LogRecord } from '@logtape/logtape';
import type { JsonLogLine } from './worker-output.ts';

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
