/** WORKERS=auto|N as a number of worker processes. */
import { MAX_WORKERS, type WorkersSetting } from '../config/config-types.ts';

/** WORKERS as a number: 'auto' is one per logical CPU (at least 1, at most MAX_WORKERS). */
export function resolveWorkerCount(setting: WorkersSetting, hardwareConcurrency: number | undefined): number {
  if (setting !== 'auto') return setting;
  const cpus = Number.isInteger(hardwareConcurrency) && hardwareConcurrency! > 0 ? hardwareConcurrency! : 1;
  return Math.min(cpus, MAX_WORKERS);
}
