/** Client helpers: node:http requests (no pooling, no decoding), raw TCP requests, /lb/stats. */
// deno-lint-ignore-file no-explicit-any -- callers read the JSON body in the shape they expect
import http from 'node:http';
import net from 'node:net';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Alternating name/value list exactly as received (repeated headers stay separate). */
  rawHeaders: string[];
  body: Buffer;
  text(): string;
  json<T = any>(): T;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
}

/** One request on a fresh connection; the body is returned as raw bytes (never decompressed). */
export function request(url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body,
          text: () => body.toString('utf8'),
          json: () => JSON.parse(body.toString('utf8')),
        });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`request ${opts.method ?? 'GET'} ${url} timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(opts.body);
  });
}

export interface RawResponse {
  statusLine: string;
  status: number;
  headerLines: string[];
  /** Lower-cased header name → values, in order. */
  headers: Map<string, string[]>;
  /** Body with chunked transfer-coding removed. */
  body: Buffer;
}

function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol === -1) throw new Error('truncated chunked body');
    const size = parseInt(buf.subarray(pos, eol).toString('latin1').split(';')[0]!.trim(), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    if (size === 0) return Buffer.concat(out);
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

/**
 * Sends `head` (request line + headers, without the final blank line) plus `body` over a raw TCP
 * connection with `Connection: close` (added unless `head` has its own Connection header, which must then
 * include `close`), so the request target reaches the proxy untouched by any client library.
 */
export function rawRequest(port: number, head: string, body: Buffer | string = '', timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => sock.destroy(new Error(`raw request timed out after ${timeoutMs} ms: ${head.split('\r\n')[0]}`)), timeoutMs);
    sock.on('connect', () => {
      // No half-close: some servers drop a request whose client already sent FIN.
      const h = head.replace(/(\r\n)*$/, '');
      sock.write(/\r\nconnection:/i.test(h) ? `${h}\r\n\r\n` : `${h}\r\nConnection: close\r\n\r\n`);
      if (body.length > 0) sock.write(body);
    });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const sep = all.indexOf('\r\n\r\n');
      if (sep === -1) return reject(new Error(`no complete response head received: ${JSON.stringify(all.toString('latin1').slice(0, 500))}`));
      const lines = all.subarray(0, sep).toString('latin1').split('\r\n');
      const statusLine = lines[0]!;
      const headerLines = lines.slice(1);
      const headers = new Map<string, string[]>();
      for (const l of headerLines) {
        const i = l.indexOf(':');
        const k = l.slice(0, i).trim().toLowerCase();
        headers.set(k, [...(headers.get(k) ?? []), l.slice(i + 1).trim()]);
      }
      let bodyBuf: Buffer = all.subarray(sep + 4);
      try {
        if ((headers.get('transfer-encoding') ?? []).some((v) => /chunked/i.test(v))) bodyBuf = dechunk(bodyBuf);
      } catch (e) {
        return reject(e);
      }
      resolve({ statusLine, status: Number(statusLine.split(' ')[1]), headerLines, headers, body: bodyBuf });
    });
  });
}

export interface ServerStats {
  url: string;
  weight: number;
  healthy: boolean;
  activeConnections: number;
  requests: number;
  errors: number;
  errorRate: number;
  /** null before the first sample. */
  responseTimeMs: { avg: number; p50: number; p95: number; p99: number } | null;
  lastHealthCheck: { at: string; ok: boolean; status: number | null; ms: number } | null;
  /** Issue 9's fields (outlier ejection and retries). */
  state?: 'healthy' | 'unhealthy' | 'ejected';
  ejectedUntil?: string | null;
  consecutiveFailures?: number;
  ejections?: number;
  retriesTo?: number;
  retriesAway?: number;
  /** SLOW_START_MS: the share of its weight a ramping server gets now, else null. */
  slowStartShare?: number | null;
  slowStartUntil?: string | null;
}

export interface Stats {
  algorithm: string;
  uptimeSeconds: number;
  totals: { requests: number; errors: number; errorRate: number; activeConnections: number };
  servers: ServerStats[];
}

export async function getStats(baseUrl: string): Promise<Stats> {
  const res = await request(`${baseUrl}/lb/stats`, { timeoutMs: 5000 });
  if (res.status !== 200) throw new Error(`/lb/stats answered ${res.status}: ${res.text()}`);
  return res.json<Stats>();
}

export function serverStats(stats: Stats, backendUrl: string): ServerStats {
  const s = stats.servers.find((x) => x.url === backendUrl);
  if (!s) throw new Error(`no stats entry for ${backendUrl}; have ${stats.servers.map((x) => x.url).join(', ')}`);
  return s;
}

/** The `x-backend` header of a proxied GET (the name of the backend that answered). */
export async function whoAnswers(baseUrl: string, path = '/'): Promise<string> {
  const res = await request(baseUrl + path);
  const name = res.headers['x-backend'];
  if (res.status !== 200 || typeof name !== 'string') {
    throw new Error(`GET ${path} → ${res.status} without x-backend: ${res.text().slice(0, 300)}`);
  }
  return name;
}

/** Sends `n` sequential GETs and returns which backend answered each. */
export async function sequence(baseUrl: string, n: number, path = '/'): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await whoAnswers(baseUrl, path));
  return out;
}

/** Polls /lb/stats until every in-flight count (total and per server) is 0; returns those stats. */
export async function waitForIdle(baseUrl: string, timeoutMs = 5000): Promise<Stats> {
  const deadline = Date.now() + timeoutMs;
  let last: Stats | undefined;
  for (;;) {
    last = await getStats(baseUrl);
    if (last.totals.activeConnections === 0 && last.servers.every((s) => s.activeConnections === 0)) return last;
    if (Date.now() >= deadline) {
      throw new Error(
        `activeConnections did not return to 0 within ${timeoutMs} ms: total ${last.totals.activeConnections}, ` +
          `per server ${last.servers.map((s) => `${s.url}=${s.activeConnections}`).join(', ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
