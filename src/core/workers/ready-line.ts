/** The line a worker writes on stdout to tell its supervisor the port it listens on. */

/**
 * The prefix of that line. It is not a log record, so LOG_LEVEL and
 * LOG_FORMAT cannot hide or reshape it; the supervisor consumes it and never passes it on.
 */
export const READY_PREFIX = '@fairway-worker-ready ';

export function readyLine(port: number): string {
  return `${READY_PREFIX}${JSON.stringify({ port })}`;
}
