/**
 * A bounded load generator: `clients` loops, each sending one request after another until `requests` in total have
 * been sent or `maxMs` has passed. Counts what clients see: statuses, and errors (a 5xx or no response at all).
 */
import http from 'node:http';

export interface LoadResult {
  sent: number;
  statuses: Record<string, number>;
  /** Responses with status 500 or more, plus requests that got no response. */
  errors: number;
  /** `status` or `network: code` of every error, in order, for the failure message. */
  errorLog: string[];
  /** Responses slower than `slowMs`. */
  slow: number;
}

export interface LoadOptions {
  clients: number;
  /** Total requests across all clients: the bound on count. */
  requests: number;
  /** The bound on time. */
  maxMs: number;
  path?: string;
  method?: string;
  /** A body for each request (with Content-Length). */
  body?: (n: number) => Buffer | undefined;
  /** Each request's own timeout; a request that takes longer counts as an error. */
  timeoutMs?: number;
  slowMs?: number;
}

/** A stop signal the test can raise early, e.g. once its scenario has played out. */
export interface Load {
  readonly done: Promise<LoadResult>;
  stop(): void;
  /** Requests sent so far. */
  readonly sent: number;
}

export function startLoad(baseUrl: string, options: LoadOptions): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.clients });
  const result: LoadResult = { sent: 0, statuses: {}, errors: 0, errorLog: [], slow: 0 };
  const deadline = Date.now() + options.maxMs;
  let stopped = false;
  const one = (n: number) =>
    new Promise<void>((resolve) => {
      const started = Date.now();
      const body = options.body?.(n);
      const req = http.request(
        `${baseUrl}${options.path ?? '/'}`,
        {
          agent,
          method: options.method ?? 'GET',
          headers: { 'x-request-id': `load-${n}`, ...(body ? { 'content-length': String(body.length) } : {}) },
          timeout: options.timeoutMs ?? 10_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = String(res.statusCode);
            result.statuses[status] = (result.statuses[status] ?? 0) + 1;
            if ((res.statusCode ?? 0) >= 500) (result.errors++, result.errorLog.push(status));
            if (Date.now() - started > (options.slowMs ?? 1_000)) result.slow++;
            resolve();
          });
          res.on('error', () => (result.errors++, result.errorLog.push('network: body cut'), resolve()));
        },
      );
      req.on('timeout', () => req.destroy(new Error('client timeout')));
      req.on('error', (e: NodeJS.ErrnoException) => (result.errors++, result.errorLog.push(`network: ${e.code ?? e.message}`), resolve()));
      req.end(body);
    });
  const client = async () => {
    while (!stopped && result.sent < options.requests && Date.now() < deadline) {
      await one(result.sent++);
    }
  };
  const done = Promise.all(Array.from({ length: options.clients }, client)).then(() => (agent.destroy(), result));
  return {
    done,
    stop: () => void (stopped = true),
    get sent() {
      return result.sent;
    },
  };
}
