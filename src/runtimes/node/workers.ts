/**
 * WORKERS>1 on Node: node:cluster forks copies of this entrypoint (same execPath, execArgv and script, so
 * `--import tsx` or native type stripping carries over). From Node 22.12 each worker binds the port itself
 * with SO_REUSEPORT and the kernel spreads connections; on older Node the primary accepts and hands them out
 * in turn (cluster's round-robin). A worker exits by itself when the primary's IPC channel closes.
 */
import cluster from 'node:cluster';
import { type AddressInfo, createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import type { WorkerExit, WorkerLauncher } from '../../core/bootstrap.ts';

/** `reusePort` on server.listen: Node 22.12+ and 23.1+. */
export function supportsReusePort(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export const REUSE_PORT = supportsReusePort();

/** Logical CPUs: navigator arrived in Node 21, so Node 20 asks node:os. */
export function hardwareConcurrency(): number {
  return globalThis.navigator?.hardwareConcurrency ?? availableParallelism();
}

export function createNodeWorkers(): WorkerLauncher {
  let setUp = false;
  return {
    spreadBy: REUSE_PORT ? 'the kernel' : 'the supervisor, in turn',
    reservePort: (hostname, port) =>
      new Promise((resolve, reject) => {
        const probe = createServer();
        probe.once('error', reject);
        probe.listen({ host: hostname, port, exclusive: true }, () => {
          const bound = (probe.address() as AddressInfo).port;
          probe.close(() => resolve(bound));
        });
      }),
    launch({ env, onOutput }) {
      if (!setUp) {
        // stdout is read by the supervisor (readiness, tagging); stderr passes straight through.
        cluster.setupPrimary({ stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
        setUp = true;
      }
      const child = cluster.fork(env).process;
      child.stdout!.on('data', (chunk: Buffer) => onOutput(chunk));
      const exited = new Promise<WorkerExit>((resolve) => {
        // 'close' comes after 'exit' once stdout has been read to the end.
        child.once('close', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: child.exitCode, signal: child.signalCode }));
      });
      const signal = (name: NodeJS.Signals) => {
        try {
          child.kill(name);
        } catch {
          /* already gone */
        }
      };
      return { pid: child.pid!, exited, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
    },
  };
}
