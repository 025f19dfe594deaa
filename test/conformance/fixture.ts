/** Shared set-up for the conformance suite: scripted backends on loopback and the proxy in front of them. */
import { getStats, request } from '../support/http.ts';
import { pollUntil } from '../support/poll.ts';
import { type ProxyEnv, type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import type { Runtime } from '../support/runtimes.ts';
import { type ScriptedBackend, startScripted } from '../support/scripted-backend.ts';

export interface Fixture {
  readonly proxy: ProxyHandle;
  readonly backend: ScriptedBackend;
  /** "127.0.0.1:PORT" of the proxy, for Host headers. */
  readonly authority: string;
  stop(): Promise<void>;
}

/**
 * One scripted backend and the proxy in front of it, probed healthy before it is handed out. The backend
 * shares the test's event loop, so a busy moment in the test (hashing a large body) must not read as a
 * failed probe: probes get 5 s unless `env` says otherwise.
 */
export async function startFixture(runtime: Runtime, env: ProxyEnv = {}, backendName = 'origin'): Promise<Fixture> {
  const backend = await startScripted(backendName);
  let proxy: ProxyHandle;
  try {
    proxy = await startProxy(runtime, { BACKEND_SERVERS: backend.url, HEALTH_CHECK_TIMEOUT_MS: '5000', ...env });
  } catch (e) {
    await backend.close();
    throw e;
  }
  const fx: Fixture = {
    proxy,
    backend,
    authority: `127.0.0.1:${proxy.port}`,
    stop: async () => {
      await proxy.stop();
      await backend.close();
    },
  };
  try {
    await waitReady(fx);
  } catch (e) {
    await fx.stop();
    throw e;
  }
  return fx;
}

/** Until /lb/ready says the server is healthy again (after a passive failure took it out). */
export async function waitReady(fx: Fixture, timeoutMs = 5000): Promise<void> {
  await pollUntil(async () => (await request(`${fx.proxy.url}/lb/ready`, { timeoutMs: 2000 })).status === 200, {
    timeoutMs,
    description: `${fx.proxy.runtime.name}: /lb/ready 200`,
  });
}

/** Until /lb/stats reports no request in flight. */
export async function waitNoActive(fx: Fixture, timeoutMs = 5000): Promise<void> {
  let last = -1;
  await pollUntil(
    async () => {
      const s = await getStats(fx.proxy.url);
      last = s.totals.activeConnections;
      return last === 0 && s.servers.every((x) => x.activeConnections === 0);
    },
    { timeoutMs, description: `${fx.proxy.runtime.name}: activeConnections back to 0 (last total ${last})` },
  ).catch((e: Error) => {
    throw new Error(`${e.message} (last total ${last})`);
  });
}

/**
 * An HTTP/1.1 request as exact bytes. `headers` are written in order, as given (name case kept).
 * Host is first unless `headers` has one (pass `host: null` to send none). A string body gets a
 * Content-Length unless the headers already frame it.
 */
export function rawReq(
  method: string,
  target: string,
  opts: { host?: string | null; headers?: [string, string][]; body?: string | Buffer; close?: boolean } = {},
): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`];
  const hasHost = (opts.headers ?? []).some(([k]) => k.toLowerCase() === 'host');
  if (opts.host !== null && !hasHost) lines.push(`Host: ${opts.host ?? 'conformance.test'}`);
  for (const [k, v] of opts.headers ?? []) lines.push(`${k}: ${v}`);
  const framed = (opts.headers ?? []).some(([k]) => /^(content-length|transfer-encoding)$/i.test(k));
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? Buffer.from(opts.body, 'latin1') : opts.body;
  if (body !== undefined && !framed) lines.push(`Content-Length: ${body.length}`);
  if (opts.close) lines.push('Connection: close');
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body ?? Buffer.alloc(0)]);
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
