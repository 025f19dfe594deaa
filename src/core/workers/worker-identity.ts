/** Who this process is: FAIRWAY_WORKER_ID, set by the supervisor, and the `worker` field of /lb/stats it leads to. */
import { MAX_WORKERS } from '../config/config-types.ts';

/** Set by the supervisor in each worker's environment: 1..N. Its presence makes a process a worker. */
export const WORKER_ID_VAR = 'FAIRWAY_WORKER_ID';

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
