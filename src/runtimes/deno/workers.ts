/**
 * WORKERS>1 on Deno: the supervisor runs `deno run -A --unstable-net <this script>` once per worker; each worker serves
 * with Deno.serve({ reusePort: true }) and the kernel spreads connections (Linux). A worker's stdin is a
 * pipe from the supervisor: when it closes (the supervisor is gone, however it ended) the worker exits.
 */
import type { WorkerExit, WorkerLauncher } from '../../core/bootstrap.ts';

export function createDenoWorkers(): WorkerLauncher {
  return {
    spreadBy: 'the kernel',
    reservePort: (hostname, port) => {
      try {
        const probe = Deno.listen({ hostname, port });
        const bound = (probe.addr as Deno.NetAddr).port;
        probe.close();
        return Promise.resolve(bound);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    launch({ env, onOutput }) {
      const child = new Deno.Command(Deno.execPath(), {
        // Deno.serve's reusePort is still behind --unstable-net (Deno 2.9).
        args: ['run', '-A', '--unstable-net', Deno.mainModule],
        env,
        clearEnv: true,
        stdin: 'piped',
        stdout: 'piped',
        stderr: 'inherit',
      }).spawn();
      const reading = (async () => {
        for await (const chunk of child.stdout) onOutput(chunk);
      })().catch(() => {});
      const exited: Promise<WorkerExit> = Promise.all([child.status, reading]).then(([status]) => ({
        code: status.signal === null ? status.code : null,
        signal: status.signal,
      }));
      const signal = (name: Deno.Signal) => {
        try {
          child.kill(name);
        } catch {
          /* already gone */
        }
      };
      return { pid: child.pid, exited, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
    },
  };
}

/** In a worker: calls `onGone` once stdin, the supervisor's pipe, reaches its end. */
export function whenSupervisorGone(onGone: () => void): void {
  void (async () => {
    for await (const _ of Deno.stdin.readable) {
      /* the supervisor never writes; only the end matters */
    }
  })()
    .catch(() => {})
    .finally(onGone);
}
