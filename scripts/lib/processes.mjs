/**
 * Process helpers shared by the tooling (scripts/, bench/, test/support/): finding the system Node, ending a
 * child's process group, describing how a process ended, and picking a free port. Plain JavaScript so the
 * scripts run on any Node without a loader; types in processes.d.mts.
 */
import { accessSync, constants, realpathSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const inNodeModules = (p) => p.split(/[\\/]/).includes('node_modules');

/**
 * The system Node: the first `node` on PATH whose directory (and resolved location) is not inside a
 * node_modules folder. npm scripts put node_modules/.bin first on PATH, so inside `npm test` a plain `node`
 * would be the Node 26 devDependency.
 */
export function findSystemNode(pathVar = process.env.PATH ?? '') {
  const exe = process.platform === 'win32' ? 'node.exe' : 'node';
  for (const dir of pathVar.split(path.delimiter)) {
    if (dir === '' || inNodeModules(dir)) continue;
    const candidate = path.join(dir, exe);
    try {
      accessSync(candidate, constants.X_OK);
      if (inNodeModules(realpathSync(candidate))) continue;
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * Signals the process group of a child spawned with `detached: true` (its PID is the group's id), so the
 * processes it started go too, and nothing else. Where there is no such group (Windows, or a child spawned
 * without `detached`), signals the child itself through ChildProcess.kill, which does nothing once the child
 * has been reaped: a bare process.kill(pid) could hit an unrelated process that reused the PID.
 */
export function killGroup(child, signal = 'SIGTERM') {
  if (!child || child.pid === undefined) return;
  if (process.platform !== 'win32') {
    try {
      process.kill(-child.pid, signal);
      return;
    } catch {
      /* no such group: fall back to the child */
    }
  }
  try {
    child.kill(signal);
  } catch {
    /* already gone */
  }
}

/**
 * How a process ended, for messages: "exit code 1", "killed by SIGKILL", "could not start: spawn x ENOENT",
 * "no exit within 30 s, so killed", or "still running" when there is no exit yet.
 */
export function describeExit(exit) {
  if (!exit) return 'still running';
  if (exit.error) return `could not start: ${typeof exit.error === 'string' ? exit.error : exit.error.message}`;
  if (exit.timedOutAfterMs !== undefined) return `no exit within ${exit.timedOutAfterMs / 1000} s, so killed`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return exit.code === null || exit.code === undefined ? 'unknown exit status' : `exit code ${exit.code}`;
}

/** A TCP port free on `host` (bound, then released), for a process that must be told its port up front. */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
