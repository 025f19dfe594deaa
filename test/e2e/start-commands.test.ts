/** The README's wrapped start commands (`npm start`, `npm run start:bun`, `deno task start`) serve, and SIGTERM to the wrapper stops Fairway. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Backend, closeBackends, startBackend } from '../support/backends.ts';
import { request } from '../support/http.ts';
import { TEST_TIMEOUT_MS } from '../support/poll.ts';
import { startProxy } from '../support/proxy-process.ts';
import { REPO_ROOT, type Runtime, selectedRuntimes } from '../support/runtimes.ts';

/** Each runtime's command as the README gives it, where the README wraps the runtime in a script or task. */
const WRAPPED: { runtime: Runtime['name']; command: string; args: string[]; env?: Record<string, string> }[] = [
  { runtime: 'node20', command: 'npm', args: ['start'] },
  { runtime: 'deno', command: path.join(REPO_ROOT, 'node_modules', '.bin', 'deno'), args: ['task', 'start'] },
  // README: start:bun sets two JavaScriptCore options, read by Bun only at start.
  { runtime: 'bun', command: 'npm', args: ['run', 'start:bun'], env: { BUN_JSC_useFTLJIT: '0', BUN_JSC_forceRAMSize: '536870912' } },
];

/** The process the wrapper runs Fairway as: with `exec`, its only child (Linux /proc). */
function childOf(pid: number): number | undefined {
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.length === 1 ? Number(children[0]) : undefined;
}

function environOf(pid: number): Map<string, string> {
  const pairs = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

const refusesConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

const selected = new Set(selectedRuntimes().map((r) => r.name));

for (const wrapped of WRAPPED.filter((w) => selected.has(w.runtime))) {
  const shown = `${path.basename(wrapped.command)} ${wrapped.args.join(' ')}`;
  describe(`start command \`${shown}\` [${wrapped.runtime}]`, () => {
    let backend: Backend | undefined;
    before(async () => {
      backend = await startBackend({ name: 'a' });
    });
    after(async () => {
      await closeBackends([backend]);
    });

    test('proxies, runs Fairway itself as the only child (exec), and SIGTERM to the wrapper stops it', { timeout: TEST_TIMEOUT_MS }, async () => {
      const runtime: Runtime = { name: wrapped.runtime, command: wrapped.command, args: wrapped.args };
      const proxy = await startProxy(runtime, { BACKEND_SERVERS: backend!.url });
      let fairway: number | undefined;
      try {
        const res = await request(`${proxy.url}/hello`);
        assert.equal(res.status, 200, res.text());
        assert.equal(res.headers['x-backend'], 'a');
        fairway = childOf(proxy.pid);
        assert.ok(fairway !== undefined, `${shown} runs one child process (the runtime, through exec)`);
        const environ = environOf(fairway);
        for (const [name, value] of Object.entries(wrapped.env ?? {})) assert.equal(environ.get(name), value, `${name} in Fairway's environment`);
      } finally {
        const exit = await proxy.stop(10_000);
        assert.equal(exit.signal, null, `${shown} was killed by ${exit.signal}, not stopped by its SIGTERM`);
      }
      const closed = await refusesConnections(proxy.port);
      if (!closed && fairway !== undefined) process.kill(fairway, 'SIGKILL'); // the process this test started, left behind
      assert.equal(closed, true, `port ${proxy.port} still open after ${shown} exited: Fairway left running`);
    });
  });
}
