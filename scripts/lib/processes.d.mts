/** Types for processes.mjs (plain JavaScript, so scripts run on any Node). */
import type { ChildProcess } from 'node:child_process';

export function findSystemNode(pathVar?: string): string | undefined;
export function killGroup(child: Pick<ChildProcess, 'pid' | 'kill'> | undefined, signal?: NodeJS.Signals): void;
export interface ExitLike {
  code?: number | null;
  signal?: string | null;
  /** The spawn error (or its message), when the process never started. */
  error?: Error | string;
  /** Set when the caller killed it for not exiting in time. */
  timedOutAfterMs?: number;
}
export function describeExit(exit: ExitLike | null | undefined): string;
export function freePort(host?: string): Promise<number>;
