/** Classifies each line of a worker's stdout: its ready line, a JSON log record, or plain text. */
import { READY_PREFIX } from './ready-line.ts';

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
  /** An access log line (ACCESS_LOG json or combined): passed on verbatim, so log pipelines read one format. */
  | { kind: 'access'; line: string }
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
      if (parsed !== null && typeof parsed === 'object' && 'requestId' in parsed && 'time' in parsed) return { kind: 'access', line };
    } catch {
      /* not JSON: plain text */
    }
  }
  // nginx's combined format: `addr - - [time] "request" ...`.
  if (COMBINED_LINE.test(line)) return { kind: 'access', line };
  return { kind: 'text', text: line };
}

const COMBINED_LINE = /^\S+ - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:[\d:]{8} [+-]\d{4}\] "/;
