/**
 * A handler that throws still gets Fairway's one error shape from Deno.serve's `onError` and Bun.serve's
 * `error` hook. Each case runs on its own runtime and is skipped on the others, which have no such server.
 */
import { test } from 'node:test';
import type { FetchHandler, ListeningServer, ServeOptions } from '../../src/core/runtime/contracts.ts';
import { errorOf } from './forwarder-contract.ts';

type Serve = (handler: FetchHandler, options: ServeOptions) => Promise<ListeningServer>;

/** Loaded by a computed path: these modules use runtime globals that tsc (Node's types) does not know. */
async function load(file: string, name: string): Promise<Serve> {
  const module = (await import(new URL(`../../src/runtimes/${file}`, import.meta.url).href)) as Record<string, Serve>;
  return module[name]!;
}

const cases = [
  { runtime: 'Deno', global: 'Deno', file: 'deno/serve.ts', name: 'serveDeno' },
  { runtime: 'Bun', global: 'Bun', file: 'bun/serve.ts', name: 'serveBun' },
] as const;

for (const c of cases) {
  const here = c.global in globalThis;
  test(`${c.runtime}: a handler that throws is answered 500 with the one JSON error shape`, {
    skip: here ? false : `${c.runtime}.serve exists only on ${c.runtime}`,
  }, async () => {
    const serve = await load(c.file, c.name);
    const server = await serve(() => {
      throw new Error('handler bug');
    }, { hostname: '127.0.0.1', port: 0 });
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/`);
      const body = await response.text();
      if (response.status !== 500) throw new Error(`status ${response.status}`);
      await errorOf(response.status, response.headers, body);
    } finally {
      await server.close();
    }
  });
}
