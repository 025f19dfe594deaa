/**
 * Reading a short, known-length server response whole (issue 12), decided by the Exchange for every I/O path.
 *
 * nginx's `proxy_buffering` reads a response into buffers and frees the upstream peer as soon as the server is
 * done. For a body with a `Content-Length` up to RESPONSE_BUFFER_BYTES, the server's side of the exchange ending
 * is then the honest end of the request's load on that server: the lifecycle can release the lease and record
 * the outcome right away, and the runtime sends the bytes natively (no JavaScript pass-through stream, which
 * halves Bun's throughput, and on Node head and body go out in one write).
 */

/** RESPONSE_BUFFER_BYTES' default: 64 KiB, as nginx's proxy buffers (8 × 8 KiB by default) hold about as much. */
export const DEFAULT_RESPONSE_BUFFER_BYTES = 64 * 1024;

/** A single decimal Content-Length (RFC 9110 §8.6); a list or anything else streams as before. */
const SINGLE_LENGTH = /^\d{1,15}$/;

/**
 * The declared body length when the body may be read whole: exactly one valid `Content-Length` of at most
 * `limit` bytes (0 turns buffering off). Undefined means "stream it with exact accounting", as today.
 */
export function bufferableLength(contentLength: string | null, limit: number): number | undefined {
  if (limit <= 0 || contentLength === null || !SINGLE_LENGTH.test(contentLength)) return undefined;
  const length = Number(contentLength);
  return length <= limit ? length : undefined;
}

/** Event streams keep streaming even with a length: each event must reach the client as it is sent. */
const EVENT_STREAM = /^\s*text\/event-stream/i;

/** The length to read whole for a response with these (client-bound) headers, or undefined to stream it. */
export function responseBufferLength(headers: { get(name: string): string | null }, limit: number): number | undefined {
  if (limit <= 0) return undefined;
  const length = bufferableLength(headers.get('content-length'), limit);
  if (length === undefined || EVENT_STREAM.test(headers.get('content-type') ?? '')) return undefined;
  return length;
}

/**
 * Reads a response body whole. Resolves once the server has sent every byte it declared; rejects like a
 * mid-body failure otherwise (the server closing early, or the forward's signal firing), so the caller ends
 * the exchange as a failure before the client has seen a byte and can still answer 502.
 */
export async function readWhole(response: Response, declared: number): Promise<Uint8Array> {
  // arrayBuffer() rather than bytes(): Node 20's Response has no bytes().
  const bytes = new Uint8Array(await response.arrayBuffer());
  // fetch already fails a short body; a longer one cannot be framed by the Content-Length the client will get.
  if (bytes.byteLength !== declared) throw new Error(`the server sent ${bytes.byteLength} bytes for a Content-Length of ${declared}`);
  return bytes;
}
