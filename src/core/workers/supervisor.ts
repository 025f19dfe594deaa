/**
 * The WORKERS>1 supervisor, runtime-agnostic: starts N workers through a runtime's launcher, waits until each
 * says it listens, passes their output on tagged with the worker id, restarts a worker that dies (with a
 * bounded backoff), and stops them all on shutdown. Spawning and signals are the launcher's business.
 */
import { getLogger } from '@logtape/logtape';
import { logger } from '../logging.ts';
import { describeExit } from './describe-exit.ts';
import { LineSplitter } from './line-splitter.ts';
import { nextCrashCount, restartDelayMs } from './restart-backoff.ts';
import { WORKER_ID_VAR } from './worker-identity.ts';
import { workerRecord } from './worker-log-record.ts';
import { parseWorkerLine } from './worker-output.ts';

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** One running worker process, as a runtime's launcher hands it back. */
export interface WorkerProcess {
  readonly pid: number;
  /** Resolves once the process has exited and its stdout has been read to the end. */
  readonly exited: Promise<WorkerExit>;
  /** Asks it to drain and exit (SIGTERM). */
  stop(): void;
  /** Ends it at once (SIGKILL). */
  kill(): void;
}

/** What a runtime provides to run workers: a way to hold a port and a way to start a copy of itself. */
export interface WorkerLauncher {
  /** What hands connections to the workers, as /lb/stats says it: "the kernel" with SO_REUSEPORT. */
  readonly spreadBy: string;
  /** Checks that hostname:port can be bound (port 0: finds a free one) and returns the port, released again. */
  reservePort(hostname: string, port: number): Promise<number>;
  /**
   * Starts this same program as a worker with exactly `env` as its environment. Its stdout goes to
   * `onOutput`, its stderr straight to the supervisor's, and it must exit when the supervisor is gone.
   */
  launch(worker: { id: number; env: Record<string, string>; onOutput(chunk: Uint8Array | string): void }): WorkerProcess;
}

export interface SupervisorOptions {
  readonly count: number;
  /** The workers' environment, less their id. */
  readonly env: Record<string, string>;
  readonly launcher: WorkerLauncher;
  /** How long every worker gets to report that it listens. */
  readonly startTimeoutMs?: number;
  /** How long workers get to drain on shutdown before they are killed. */
  readonly stopGraceMs?: number;
  /** Start each passed-on message with "[worker N] ", for formats that do not show properties (pretty). */
  readonly prefixMessages?: boolean;
}

export type SupervisorStart = { ok: true } | { ok: false; message: string };

interface Run {
  readonly proc: WorkerProcess;
  readonly startedAt: number;
  ready: boolean;
  exited: boolean;
  /** Resolves after the exit has been handled. */
  done: Promise<void>;
}

interface Slot {
  readonly id: number;
  run: Run | undefined;
  crashes: number;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
}

/** Resolves with `promise`'s value, or false after `ms`; the timer never outlives the race. */
async function within(promise: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #slots: Slot[];
  readonly #log = logger('supervisor');
  #startup: ((result: SupervisorStart) => void) | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: options.count }, (_, i) => ({ id: i + 1, run: undefined, crashes: 0, restartTimer: undefined }));
  }

  /** PIDs of the workers running now, by worker id. */
  get pids(): number[] {
    return this.#slots.flatMap((s) => (s.run && !s.run.exited ? [s.run.proc.pid] : []));
  }

  /** Starts every worker; resolves once all listen, or with why not (then nothing is left running). */
  start(): Promise<SupervisorStart> {
    const result = new Promise<SupervisorStart>((resolve) => {
      const timer = setTimeout(
        () => this.#failStartup(`not every worker was listening within ${this.#options.startTimeoutMs ?? 60_000} ms`),
        this.#options.startTimeoutMs ?? 60_000,
      );
      this.#startup = (r) => {
        clearTimeout(timer);
        this.#startup = undefined;
        resolve(r);
      };
    });
    for (const slot of this.#slots) this.#launch(slot);
    return result;
  }

  /** Stops every worker (each drains, then exits); idempotent. */
  stop(): Promise<void> {
    return (this.#stopping ??= (async () => {
      for (const slot of this.#slots) clearTimeout(slot.restartTimer);
      const runs = this.#slots.flatMap((s) => (s.run && !s.run.exited ? [s.run] : []));
      for (const run of runs) run.proc.stop();
      const all = Promise.all(runs.map((r) => r.done)).then((): boolean => true);
      if (await within(all, this.#options.stopGraceMs ?? 15_000)) return;
      for (const run of runs) {
        if (run.exited) continue;
        this.#log.warn('Worker {worker} (pid {pid}) did not stop in time; killing it', {
          event: 'worker_killed',
          worker: this.#slots.find((s) => s.run === run)?.id,
          pid: run.proc.pid,
        });
        run.proc.kill();
      }
      await within(all, 5_000);
    })());
  }

  #failStartup(message: string): void {
    const resolve = this.#startup;
    if (!resolve) return;
    this.#startup = undefined;
    void this.stop().then(() => resolve({ ok: false, message }));
  }

  #launch(slot: Slot): void {
    slot.restartTimer = undefined;
    const splitter = new LineSplitter();
    // deno-lint-ignore prefer-const -- assigned once the process has started; onLine, made before that, reads it later
    let run: Run | undefined;
    const onLine = (line: string) => this.#onLine(slot, run, line);
    let proc: WorkerProcess;
    try {
      proc = this.#options.launcher.launch({
        id: slot.id,
        env: { ...this.#options.env, [WORKER_ID_VAR]: String(slot.id) },
        onOutput: (chunk) => {
          for (const line of splitter.push(chunk)) onLine(line);
        },
      });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.#log.error('Cannot start worker {worker}: {error}', { event: 'worker_exited', worker: slot.id, error: why });
      if (this.#startup) this.#failStartup(`cannot start worker ${slot.id}: ${why}`);
      else if (!this.#stopping) this.#scheduleRestart(slot, ++slot.crashes);
      return;
    }
    const current: Run = { proc, startedAt: performance.now(), ready: false, exited: false, done: Promise.resolve() };
    run = current;
    slot.run = current;
    current.done = proc.exited.then(
      (exit) => {
        for (const line of splitter.end()) onLine(line);
        this.#onExit(slot, current, exit);
      },
      () => this.#onExit(slot, current, { code: null, signal: null }),
    );
    this.#log.info('Started worker {worker} (pid {pid})', { event: 'worker_started', worker: slot.id, pid: proc.pid });
  }

  #onLine(slot: Slot, run: Run | undefined, line: string): void {
    const parsed = parseWorkerLine(line);
    switch (parsed.kind) {
      case 'ready':
        if (run) run.ready = true;
        if (this.#startup && this.#slots.every((s) => s.run?.ready)) this.#startup({ ok: true });
        return;
      case 'record': {
        const { category, ...record } = workerRecord(parsed.record, slot.id);
        if (this.#options.prefixMessages) {
          const message = `[worker ${slot.id}] ${record.rawMessage as string}`;
          getLogger(category).emit({ ...record, message: [message], rawMessage: message });
        } else {
          getLogger(category).emit(record);
        }
        return;
      }
      case 'access':
        console.log(parsed.line);
        return;
      case 'text':
        if (parsed.text.trim() !== '') console.log(`[worker ${slot.id}] ${parsed.text}`);
        return;
    }
  }

  #onExit(slot: Slot, run: Run, exit: WorkerExit): void {
    run.exited = true;
    const properties = { worker: slot.id, pid: run.proc.pid, code: exit.code, signal: exit.signal };
    if (this.#stopping) {
      this.#log.info('Worker {worker} (pid {pid}) stopped', { event: 'worker_stopped', ...properties });
      return;
    }
    if (this.#startup) {
      this.#log.error('Worker {worker} (pid {pid}) exited ({how}) before it was listening', {
        event: 'worker_exited',
        how: describeExit(exit),
        ...properties,
      });
      this.#failStartup(`worker ${slot.id} exited (${describeExit(exit)}) before it was listening; its output is above`);
      return;
    }
    slot.crashes = nextCrashCount(slot.crashes, performance.now() - run.startedAt);
    this.#scheduleRestart(slot, slot.crashes, exit, run);
  }

  #scheduleRestart(slot: Slot, crashes: number, exit?: WorkerExit, run?: Run): void {
    const delayMs = restartDelayMs(crashes);
    this.#log.warn('Worker {worker} (pid {pid}) exited unexpectedly ({how}); restarting it in {restartInMs} ms', {
      event: 'worker_exited',
      worker: slot.id,
      pid: run?.proc.pid ?? null,
      code: exit?.code ?? null,
      signal: exit?.signal ?? null,
      how: exit ? describeExit(exit) : 'did not start',
      restartInMs: delayMs,
      crashesInARow: crashes,
    });
    slot.restartTimer = setTimeout(() => {
      if (!this.#stopping) this.#launch(slot);
    }, delayMs);
  }
}
