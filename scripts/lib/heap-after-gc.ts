/**
 * The proxy's JavaScript heap after a forced full GC, read from outside through the V8 inspector (Chrome DevTools
 * Protocol: HeapProfiler.collectGarbage, then Runtime.getHeapUsage), so the soak tells a leak from the heap's high-water
 * mark without a line of product code. Node and Deno speak it (`--inspect=127.0.0.1:0`, the address read from stderr);
 * Bun's inspector is WebKit's, so there the soak reports RSS alone. `ws` (a devDependency) is the WebSocket client,
 * since Node 20 has none built in.
 */
import WebSocket from 'ws';
import type { Runtime } from '../../test/support/runtimes.ts';

/** The runtime with its inspector listening on a free loopback port, or undefined where CDP is not spoken (Bun). */
export function withInspector(runtime: Runtime): Runtime | undefined {
  if (runtime.name === 'node20' || runtime.name === 'node26') return { ...runtime, args: ['--inspect=127.0.0.1:0', ...runtime.args] };
  if (runtime.name === 'deno') return { ...runtime, args: ['run', '--inspect=127.0.0.1:0', ...runtime.args.slice(1)] };
  return undefined;
}

export interface HeapProbe {
  /** Forces a full GC, then returns the heap in use, in MiB. */
  usedAfterGcMiB(): Promise<number>;
  close(): void;
}

/** Connects to the inspector whose address the runtime printed on stderr ("Debugger listening on ws://..."). */
export async function connectHeapProbe(stderr: () => string): Promise<HeapProbe> {
  const url = /ws:\/\/[^\s]+/.exec(stderr())?.[0];
  if (url === undefined) throw new Error(`no inspector address in the proxy's stderr:\n${stderr().slice(0, 500)}`);
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, (result: Record<string, unknown>) => void>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> };
    if (message.id !== undefined) pending.get(message.id)?.(message.result ?? {});
  });
  const call = (method: string): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method }));
    });
  return {
    async usedAfterGcMiB() {
      await call('HeapProfiler.collectGarbage');
      const usage = await call('Runtime.getHeapUsage');
      return Math.round((Number(usage.usedSize) / 1024 / 1024) * 10) / 10;
    },
    close: () => socket.close(),
  };
}
