/**
 * WORKERS>1 on Bun: the supervisor runs this script again with Bun.spawn once per worker; each worker serves
 * with Bun.serve({ reusePort: true }) and the kernel spreads connections (Linux). A worker's stdin is a pipe
 * from the supervisor: when it closes (the supervisor is gone, however it ended) the worker exits.
 */
import type { WorkerExit, WorkerLauncher } from '../../core/bootstrap.ts';

export function createBunWorkers(): WorkerLauncher {
  return {
    spreadBy: 'the kernel',
    reservePort: async (hostname, port) => {
      const probe = Bun.listen({ hostname, port, socket: { data() {} } });
      const bound = probe.port;
      probe.stop(true);
      return bound;
    },
    launch({ env, onOutput }) {
      const child = Bun.spawn({
        cmd: [process.execPath, ...process.execArgv, Bun.main],
        env,
        stdin: 'pipe',
        stdout: 'pipe',
        stderr: 'inherit',
      });
      const reading = (async () => {
        for await (const chunk of child.stdout) onOutput(chunk);
      })().catch(() => {});
      const exited: Promise<WorkerExit> = Promise.all([child.exited, reading]).then(() => ({
        code: child.signalCode ? null : child.exitCode,
        // Bun types signalCode as a name or a number (a signal it has no name for).
        signal: child.signalCode === null ? null : String(child.signalCode),
      }));
      const signal = (name: 'SIGTERM' | 'SIGKILL') => {
        try {
          child.kill(name);
        } catch {
          /* already gone */
        }
      };
      // child.stdin stays open, unwritten, for as long as this process lives: the Subprocess holds it, and the
      // supervisor holds the Subprocess through stop and kill.
      return { pid: child.pid, exited, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
    },
  };
}

/** In a worker: calls `onGone` once stdin, the supervisor's pipe, reaches its end. */
export function whenSupervisorGone(onGone: () => void): void {
  void (async () => {
    const reader = Bun.stdin.stream().getReader();
    while (!(await reader.read()).done) {
      /* the supervisor never writes; only the end matters */
    }
  })()
    .catch(() => {})
    .finally(onGone);
}
