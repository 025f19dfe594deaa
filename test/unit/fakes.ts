/**
 * Test doubles for the unit tests: a fetch-shaped fake upstream client, response bodies the test drives
 * chunk by chunk, a recording logger and a Config literal. No network, no runtime-specific API.
 */
import type { Config } from '../../src/core/config/config-types.ts';
import { RESILIENCE_DEFAULTS } from '../../src/core/config/resilience-types.ts';
import type { Logger } from '../../src/core/logging.ts';
import type { UpstreamClient, UpstreamRequestInit } from '../../src/core/upstream/upstream-client.ts';

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One call the code under test made to the fake client. */
export interface UpstreamCall {
  readonly url: string;
  readonly init: UpstreamRequestInit;
}

export type UpstreamHandler = (call: UpstreamCall) => Response | Promise<Response>;

/**
 * A fetch-shaped client whose answer is decided per call by `handler`. Records every call, and lets a test
 * await the n-th call (so it can act while the code under test is waiting on the upstream).
 */
export class FakeUpstream implements UpstreamClient {
  decodesCompressedBodies: boolean;
  chunkReleaser?: UpstreamClient['chunkReleaser'];
  handler: UpstreamHandler;
  readonly calls: UpstreamCall[] = [];
  closed = false;
  readonly #waiters: { n: number; d: Deferred<UpstreamCall> }[] = [];

  constructor(handler: UpstreamHandler = () => new Response('ok'), options: { decodesCompressedBodies?: boolean } = {}) {
    this.handler = handler;
    this.decodesCompressedBodies = options.decodesCompressedBodies ?? false;
  }

  fetch(url: string, init: UpstreamRequestInit): Promise<Response> {
    const call = { url, init };
    this.calls.push(call);
    for (const w of this.#waiters.filter((w) => w.n <= this.calls.length)) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.d.resolve(this.calls[w.n - 1]!);
    }
    // Like fetch, answer asynchronously even when the handler is synchronous, and reject on a thrown error.
    return Promise.resolve().then(() => this.handler(call));
  }

  /** Resolves with the n-th call (1-based) once it has been made. */
  call(n: number): Promise<UpstreamCall> {
    if (this.calls.length >= n) return Promise.resolve(this.calls[n - 1]!);
    const d = deferred<UpstreamCall>();
    this.#waiters.push({ n, d });
    return d.promise;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * What fetch does when the server never sends headers: waits until the request's signal aborts, then rejects
 * with the abort reason.
 */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** A response body the test feeds by hand; `cancelled` settles with the reason when the reader cancels it. */
export interface ControlledBody {
  readonly stream: ReadableStream<Uint8Array>;
  push(text: string): void;
  close(): void;
  error(reason: unknown): void;
  /** Resolves with the cancel reason when whoever reads the stream cancels it. */
  readonly cancelled: Promise<unknown>;
  /** True once the stream has been cancelled. */
  readonly isCancelled: boolean;
}

export function controlledBody(): ControlledBody {
  const encoder = new TextEncoder();
  const cancelled = deferred<unknown>();
  let isCancelled = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel(reason) {
      isCancelled = true;
      cancelled.resolve(reason);
    },
  });
  return {
    stream,
    push: (text) => controller.enqueue(encoder.encode(text)),
    close: () => controller.close(),
    error: (reason) => controller.error(reason),
    cancelled: cancelled.promise,
    get isCancelled() {
      return isCancelled;
    },
  };
}

/** A body that, like a fetch response body, errors when the request's signal aborts. */
export function bodyTiedTo(signal: AbortSignal): ControlledBody {
  const body = controlledBody();
  signal.addEventListener(
    'abort',
    () => {
      try {
        body.error(signal.reason);
      } catch {
        // Already closed or cancelled.
      }
    },
    { once: true },
  );
  return body;
}

export interface LogCall {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly properties: Record<string, unknown>;
}

/** A stand-in for a LogTape Logger that records the calls the core makes. */
export function recordingLogger(): { logger: Logger; calls: LogCall[] } {
  const calls: LogCall[] = [];
  const record = (level: LogCall['level']) => (message: unknown, properties?: unknown): void => {
    calls.push({ level, message: String(message), properties: (properties ?? {}) as Record<string, unknown> });
  };
  const fake = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    warning: record('warn'),
    error: record('error'),
    isEnabledFor: () => true,
  };
  return { logger: fake as unknown as Logger, calls };
}

/** A complete Config literal; unit tests never listen, so host and port are placeholders. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    algorithm: 'round_robin',
    hashKey: { kind: 'ip' },
    hashFallback: 'round_robin',
    sticky: undefined,
    servers: undefined,
    host: '127.0.0.1',
    port: 0,
    healthCheckPath: '/health',
    healthCheckIntervalMs: 60_000,
    healthCheckTimeoutMs: 1_000,
    upstreamTimeoutMs: 1_000,
    logLevel: 'info',
    logFormat: 'json',
    trustProxy: false,
    preserveHost: false,
    maxRequestBodyBytes: undefined,
    workers: 1,
    clientHeaderTimeoutMs: 60_000,
    clientKeepAliveTimeoutMs: 75_000,
    clientBodyTimeoutMs: 60_000,
    upstreamReadTimeoutMs: 300_000,
    via: true,
    rewriteLocation: true,
    accessLog: 'off',
    responseBufferBytes: 65_536,
    adminToken: undefined,
    adminPort: undefined,
    adminHost: '127.0.0.1',
    resilience: RESILIENCE_DEFAULTS,
    websocket: { maxBufferedBytes: 32 * 1024 * 1024, maxMessageBytes: 16 * 1024 * 1024, idleTimeoutMs: 0 },
    tls: undefined,
    httpRedirectPort: undefined,
    upstreamTls: { caFile: undefined, insecure: false },
    ...overrides,
  };
}

/** Reads a whole body as text. */
export async function readText(stream: ReadableStream<Uint8Array> | Uint8Array | null): Promise<string> {
  if (stream === null) return '';
  return await new Response(stream as BodyInit).text();
}
