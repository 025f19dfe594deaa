/**
 * A raw HTTP/1.1 client connection over node:net for conformance tests: bytes go out exactly as written
 * (request targets, header case and order, framing, Expect), and responses are parsed from the wire with
 * their framing reported, so a test can tell a complete body from a truncated one and reuse a keep-alive
 * connection to detect desync.
 */
// deno-lint-ignore-file no-explicit-any -- callers read the JSON body in the shape they expect
import net from 'node:net';

export type Framing = 'content-length' | 'chunked' | 'close' | 'none';

export interface WireResponse {
  statusLine: string;
  status: number;
  /** Header lines exactly as received ("Name: value"), in order. */
  headerLines: string[];
  /** Lower-cased name → values in order (repeated fields stay separate). */
  headers: Map<string, string[]>;
  /** How the body was delimited on the wire. */
  framing: Framing;
  /** Body with any chunked coding removed. */
  body: Buffer;
  /** Body bytes as they were on the wire. */
  rawBody: Buffer;
  /**
   * True when the body was delimited properly: all Content-Length bytes, the terminating 0-chunk, a
   * bodiless response, or (framing 'close') the connection closed, which is the only end such a body has.
   */
  complete: boolean;
  /** For 'content-length': the declared length. */
  declaredLength?: number;
  /** Trailer field lines after the last chunk. */
  trailers: string[];
  /** Interim (1xx) responses received before this one. */
  interim: WireResponse[];
}

export interface ReadOptions {
  /** Method of the request this answers; HEAD responses have no body whatever their headers say. */
  method?: string;
  timeoutMs?: number;
  /** Return 1xx responses instead of collecting them into `interim` (default false). */
  returnInterim?: boolean;
}

export interface ExchangeOptions extends ReadOptions {
  /** Address to connect to (default 127.0.0.1). */
  host?: string;
}

/** First value of a header (lower-case name) or undefined. */
export function header(res: Pick<WireResponse, 'headers'>, name: string): string | undefined {
  return res.headers.get(name.toLowerCase())?.[0];
}

/** All values of a header, joined the way a recipient would combine them (", "). */
export function headerJoined(res: Pick<WireResponse, 'headers'>, name: string): string | undefined {
  const v = res.headers.get(name.toLowerCase());
  return v === undefined ? undefined : v.join(', ');
}

/** The body as parsed JSON (throws with the text if it is not JSON). */
export function jsonBody<T = any>(res: Pick<WireResponse, 'body' | 'statusLine'>): T {
  const text = res.body.toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${res.statusLine}: body is not JSON: ${JSON.stringify(text.slice(0, 500))}`);
  }
}

type ParseResult = { res: WireResponse; end: number } | undefined;

/**
 * Parses one response starting at `start`. Returns undefined if more bytes are needed (and the
 * connection is still open). With `closed`, an incomplete body yields a response with complete=false.
 */
function parseResponse(buf: Buffer, start: number, method: string, closed: boolean): ParseResult {
  const sep = buf.indexOf('\r\n\r\n', start);
  if (sep === -1) return undefined;
  const lines = buf.subarray(start, sep).toString('latin1').split('\r\n');
  const statusLine = lines[0]!;
  const status = Number(statusLine.split(' ')[1]);
  const headerLines = lines.slice(1);
  const headers = new Map<string, string[]>();
  for (const l of headerLines) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).trim().toLowerCase();
    headers.set(k, [...(headers.get(k) ?? []), l.slice(i + 1).trim()]);
  }
  const bodyStart = sep + 4;
  const base = { statusLine, status, headerLines, headers, trailers: [] as string[], interim: [] as WireResponse[] };

  if (method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304) {
    return { res: { ...base, framing: 'none', body: Buffer.alloc(0), rawBody: Buffer.alloc(0), complete: true }, end: bodyStart };
  }
  const te = (headers.get('transfer-encoding') ?? []).join(',').toLowerCase();
  if (te !== '' && /(?:^|,)\s*chunked\s*$/.test(te)) {
    const out: Buffer[] = [];
    let pos = bodyStart;
    for (;;) {
      const eol = buf.indexOf('\r\n', pos);
      if (eol === -1) break;
      const size = parseInt(buf.subarray(pos, eol).toString('latin1').split(';')[0]!.trim(), 16);
      if (Number.isNaN(size)) {
        // Malformed chunk: report what arrived, as incomplete.
        return closed
          ? { res: { ...base, framing: 'chunked', body: Buffer.concat(out), rawBody: buf.subarray(bodyStart), complete: false }, end: buf.length }
          : undefined;
      }
      if (size === 0) {
        // Trailer section: lines until an empty line.
        let tpos = eol + 2;
        const trailers: string[] = [];
        for (;;) {
          const teol = buf.indexOf('\r\n', tpos);
          if (teol === -1) {
            tpos = -1;
            break;
          }
          if (teol === tpos) {
            tpos = teol + 2;
            break;
          }
          trailers.push(buf.subarray(tpos, teol).toString('latin1'));
          tpos = teol + 2;
        }
        if (tpos === -1) break;
        return {
          res: { ...base, framing: 'chunked', body: Buffer.concat(out), rawBody: buf.subarray(bodyStart, tpos), complete: true, trailers },
          end: tpos,
        };
      }
      if (buf.length < eol + 2 + size + 2) break;
      out.push(buf.subarray(eol + 2, eol + 2 + size));
      pos = eol + 2 + size + 2;
    }
    if (!closed) return undefined;
    return { res: { ...base, framing: 'chunked', body: Buffer.concat(out), rawBody: buf.subarray(bodyStart), complete: false }, end: buf.length };
  }
  const cl = headers.get('content-length');
  if (cl !== undefined) {
    const declared = Number(cl[0]);
    if (buf.length - bodyStart >= declared) {
      const body = buf.subarray(bodyStart, bodyStart + declared);
      return { res: { ...base, framing: 'content-length', body, rawBody: body, complete: true, declaredLength: declared }, end: bodyStart + declared };
    }
    if (!closed) return undefined;
    const body = buf.subarray(bodyStart);
    return { res: { ...base, framing: 'content-length', body, rawBody: body, complete: false, declaredLength: declared }, end: buf.length };
  }
  if (!closed) return undefined;
  const body = buf.subarray(bodyStart);
  return { res: { ...base, framing: 'close', body, rawBody: body, complete: true }, end: buf.length };
}

export class NoResponseError extends Error {
  /** What arrived before the connection closed or the wait ended. */
  readonly received: Buffer;
  constructor(message: string, received: Buffer) {
    super(message);
    this.received = received;
  }
}

/** One client TCP connection. Every wait is bounded. */
export class RawConnection {
  readonly socket: net.Socket;
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #closed = false;
  #waiters = new Set<() => void>();
  /** Errors the socket reported (ECONNRESET, EPIPE…); recorded, never thrown. */
  readonly errors: Error[] = [];
  readonly closedPromise: Promise<void>;
  /** Total bytes received on this connection. */
  bytesReceived = 0;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.bytesReceived += c.length;
      this.#buf = this.#buf.length === this.#pos ? c : Buffer.concat([this.#buf.subarray(this.#pos), c]);
      this.#pos = 0;
      this.#wake();
    });
    socket.on('error', (e) => this.errors.push(e));
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.#closed = true;
        this.#wake();
        resolve();
      });
    });
  }

  static open(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received and not yet consumed by readResponse. */
  get pending(): Buffer {
    return this.#buf.subarray(this.#pos);
  }

  #wake(): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }

  /** Resolves when new bytes arrive or the connection closes, or after `ms`. */
  #waitChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.#waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  /** Writes bytes; resolves once handed to the OS (or the socket failed, which is recorded). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) return resolve();
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, () => resolve());
    });
  }

  /** Waits until `pred(pending bytes)` holds; rejects with what arrived after `timeoutMs` or on close. */
  async waitFor(pred: (pending: Buffer) => boolean, timeoutMs: number, what: string): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (pred(this.pending)) return this.pending;
      if (this.#closed) {
        throw new NoResponseError(`connection closed before ${what}; received ${JSON.stringify(this.pending.toString('latin1').slice(0, 300))}`, this.pending);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new NoResponseError(
          `timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(this.pending.toString('latin1').slice(0, 300))}`,
          this.pending,
        );
      }
      await this.#waitChange(left);
    }
  }

  /** Reads the next response (1xx collected into `interim` unless `returnInterim`). */
  async readResponse(opts: ReadOptions = {}): Promise<WireResponse> {
    const method = (opts.method ?? 'GET').toUpperCase();
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const interim: WireResponse[] = [];
    for (;;) {
      const parsed = parseResponse(this.#buf, this.#pos, method, this.#closed);
      if (parsed) {
        this.#pos = parsed.end;
        const res = parsed.res;
        if (res.status >= 100 && res.status < 200 && res.status !== 101 && !opts.returnInterim) {
          interim.push(res);
          continue;
        }
        res.interim = interim;
        // A copy, so later reads (which may reuse the buffer) cannot change it.
        return { ...res, body: Buffer.from(res.body), rawBody: Buffer.from(res.rawBody) };
      }
      if (this.#closed) {
        throw new NoResponseError(
          `connection closed without a complete response head; received ${JSON.stringify(this.pending.toString('latin1').slice(0, 300))}`,
          this.pending,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new NoResponseError(
          `timed out after ${timeoutMs} ms waiting for a response; received ${JSON.stringify(this.pending.toString('latin1').slice(0, 300))}`,
          this.pending,
        );
      }
      await this.#waitChange(left);
    }
  }

  /** Reads the head of the next response only (status line and headers), leaving the body pending. */
  async readHead(timeoutMs = 10_000): Promise<{ statusLine: string; status: number; headers: Map<string, string[]>; headerLines: string[] }> {
    await this.waitFor((b) => b.indexOf('\r\n\r\n') !== -1, timeoutMs, 'a response head');
    const buf = this.pending;
    const sep = buf.indexOf('\r\n\r\n');
    const lines = buf.subarray(0, sep).toString('latin1').split('\r\n');
    this.#pos += sep + 4;
    const headers = new Map<string, string[]>();
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      const k = l.slice(0, i).trim().toLowerCase();
      headers.set(k, [...(headers.get(k) ?? []), l.slice(i + 1).trim()]);
    }
    return { statusLine: lines[0]!, status: Number(lines[0]!.split(' ')[1]), headers, headerLines: lines.slice(1) };
  }

  /** Consumes and returns all pending bytes. */
  take(): Buffer {
    const out = Buffer.from(this.pending);
    this.#pos = this.#buf.length;
    return out;
  }

  /** True if the connection closed within `timeoutMs`. */
  async waitClose(timeoutMs: number): Promise<boolean> {
    if (this.#closed) return true;
    let t: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      this.closedPromise.then(() => true),
      new Promise<boolean>((r) => {
        t = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(t);
    return closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Opens a connection, writes `request` (exact bytes), reads one response, closes. */
export async function exchange(port: number, request: string | Buffer, opts: ExchangeOptions = {}): Promise<WireResponse> {
  const conn = await RawConnection.open(port, opts.host);
  try {
    await conn.write(request);
    return await conn.readResponse(opts);
  } finally {
    conn.destroy();
  }
}

/** What a malformed request got: a response, or the connection closed (or left open) without one. */
export type MalformedOutcome =
  | { kind: 'response'; res: WireResponse }
  | { kind: 'closed'; received: Buffer }
  | { kind: 'no-answer'; received: Buffer };

/** Sends bytes and reports whether a response came back or the connection was closed, within `timeoutMs`. */
export async function sendMalformed(port: number, request: string | Buffer, timeoutMs = 5000): Promise<MalformedOutcome> {
  const conn = await RawConnection.open(port);
  try {
    await conn.write(request);
    try {
      return { kind: 'response', res: await conn.readResponse({ timeoutMs }) };
    } catch (e) {
      if (!(e instanceof NoResponseError)) throw e;
      return conn.closed ? { kind: 'closed', received: e.received } : { kind: 'no-answer', received: e.received };
    }
  } finally {
    conn.destroy();
  }
}

/** Encodes one chunk of a chunked body. */
export function chunk(data: string | Buffer): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`, 'latin1'), b, Buffer.from('\r\n', 'latin1')]);
}

export const LAST_CHUNK = '0\r\n\r\n';
