/** How a worker process ended, in words for log messages. */

/** "code 1", "signal SIGKILL", "unknown status". */
export function describeExit(exit: { code: number | null; signal: string | null }): string {
  if (exit.signal !== null) return `signal ${exit.signal}`;
  return exit.code === null ? 'unknown status' : `code ${exit.code}`;
}
