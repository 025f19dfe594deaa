/**
 * Bulk transfers for the large-transfer tests and bench/memory.mjs: a deterministic stream of 1 MiB blocks
 * (a random block with its index stamped in, so loss, duplication or reordering changes the hash), written
 * with back-pressure, and sinks that count and hash what arrives.
 */
// deno-lint-ignore-file no-explicit-any -- callers read the JSON body in the shape they expect
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

export const BLOCK = 1024 * 1024;
export const GIB = 1024 * BLOCK;

const base = randomBytes(BLOCK);

/** Block `i` of the stream: the base block with `i` in its first 8 bytes (a fresh buffer each time). */
export function block(i: number): Buffer {
  const b = Buffer.from(base);
  b.writeBigUInt64BE(BigInt(i), 0);
  return b;
}

const expected = new Map<number, string>();
/** sha256 of the first `bytes` bytes of the stream (a whole number of blocks), computed once. */
export function expectedSha256(bytes: number): string {
  let v = expected.get(bytes);
  if (v === undefined) {
    const h = createHash('sha256');
    for (let i = 0; i < bytes / BLOCK; i++) h.update(block(i));
    v = h.digest('hex');
    expected.set(bytes, v);
  }
  return v;
}

/** Resolves on 'drain' or 'close', whichever comes first, leaving no listener behind. */
function drainedOrClosed(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

/** Writes `bytes` of the stream to `out`, waiting for 'drain' whenever it asks (back-pressure). */
export async function writeBlocks(out: NodeJS.WritableStream & { destroyed?: boolean }, bytes: number): Promise<void> {
  for (let i = 0; i < bytes / BLOCK; i++) {
    if (out.destroyed) throw new Error(`destination closed after ${i} MiB`);
    if (!out.write(block(i))) await drainedOrClosed(out);
  }
}

export interface Received {
  bytes: number;
  sha256: string;
}

/** Counts and hashes a readable to its end. */
export function drain(stream: NodeJS.ReadableStream): Promise<Received> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    stream.on('data', (c: Buffer) => {
      bytes += c.length;
      h.update(c);
    });
    stream.on('end', () => resolve({ bytes, sha256: h.digest('hex') }));
    stream.on('error', reject);
    stream.on('aborted', () => reject(new Error(`aborted after ${bytes} bytes`)));
  });
}

/** Uploads `bytes` with Content-Length to `url` and resolves with the JSON answer ({bytes, sha256} from the sink). */
export function upload(url: string, bytes: number, timeoutMs: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', agent: false, headers: { 'content-length': String(bytes), 'content-type': 'application/octet-stream' } });
    const timer = setTimeout(() => req.destroy(new Error(`upload of ${bytes} bytes timed out after ${timeoutMs} ms`)), timeoutMs);
    let early: string | undefined;
    req.on('error', (e) => {
      clearTimeout(timer);
      // The server may have answered (say, 413) and closed while the body was still being written.
      setImmediate(() => reject(new Error(`${e.message}${early ? `; the server had answered ${early}` : ''}`)));
    });
    req.on('response', (res) => {
      early = `${res.statusCode} ${JSON.stringify(res.headers)}`;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: text });
        }
      });
    });
    writeBlocks(req, bytes).then(
      () => req.end(),
      (e) => req.destroy(e),
    );
  });
}

/** Downloads `url`, counting and hashing the body; `declared` is the response's Content-Length if any. */
export function download(url: string, timeoutMs: number): Promise<Received & { status: number; declared?: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      drain(res).then(
        (r) => {
          clearTimeout(timer);
          const cl = res.headers['content-length'];
          resolve({ ...r, status: res.statusCode ?? 0, declared: cl === undefined ? undefined : Number(cl) });
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
    const timer = setTimeout(() => req.destroy(new Error(`download timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Request handlers for a backend: `sink` hashes an upload and answers {bytes, sha256}; `source` streams `?bytes=N`. */
export function sinkHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  drain(req).then(
    (r) => {
      const body = JSON.stringify(r);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
    () => res.destroy(),
  );
}

export function sourceHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  const bytes = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes') ?? GIB);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
  writeBlocks(res, bytes).then(
    () => res.end(),
    () => res.destroy(),
  );
}
