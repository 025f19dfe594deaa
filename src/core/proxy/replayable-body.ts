/**
 * Request bodies a retry can send again: one with a declared length up to RETRY_BUFFER_BYTES is read whole before the
 * first try and kept; a larger one, or one without a declared length, streams and is never retried. Nothing beyond
 * the limit is ever held.
 */

export type BodyPlan =
  /** No body: any retry may go ahead. */
  | { readonly kind: 'none' }
  /** Read `length` bytes whole (`readBodyUpTo`) and send the same bytes on every try. */
  | { readonly kind: 'buffer'; readonly length: number }
  /** Stream it once; the request is not retried after it has started to send. */
  | { readonly kind: 'stream' };

const DIGITS = /^\d+$/;

/**
 * Decides from the request's framing. `contentLength` is the header as received (a list such as "5, 5" is not a
 * length: the lifecycle refuses those as invalid before this is asked).
 */
export function planRequestBody(hasBody: boolean, contentLength: string | null, limit: number): BodyPlan {
  if (!hasBody) return { kind: 'none' };
  const value = contentLength?.trim();
  if (value === undefined || !DIGITS.test(value)) return { kind: 'stream' };
  const length = Number(value);
  if (length === 0) return { kind: 'none' };
  return length <= limit ? { kind: 'buffer', length } : { kind: 'stream' };
}

/** The client sent more or fewer bytes than it declared: its fault, answered 400, never counted against a server. */
export class BodyLengthError extends Error {
  readonly received: number;
  readonly declared: number;
  constructor(received: number, declared: number, more: boolean) {
    super(more ? `request body is longer than its Content-Length of ${declared} bytes` : `request body ended after ${received} of ${declared} declared bytes`);
    this.name = 'BodyLengthError';
    this.received = received;
    this.declared = declared;
  }
}

/**
 * Reads exactly `declaredLength` bytes into one Uint8Array, allocated once. Stops and cancels the stream as soon as
 * a byte beyond the declared length arrives, so a lying client can never make Fairway hold more than it declared.
 * Written by hand: `new Response(stream).arrayBuffer()` has no bound, and the bound is the point.
 */
export async function readBodyUpTo(stream: ReadableStream<Uint8Array>, declaredLength: number): Promise<Uint8Array<ArrayBuffer>> {
  const body = new Uint8Array(declaredLength);
  const reader = stream.getReader();
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (received + value.byteLength > declaredLength) {
        await reader.cancel().catch(() => {});
        throw new BodyLengthError(received + value.byteLength, declaredLength, true);
      }
      body.set(value, received);
      received += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  if (received < declaredLength) throw new BodyLengthError(received, declaredLength, false);
  return body;
}

/** `readBodyUpTo` for an async iterable of chunks (Node's IncomingMessage), with the same bound. */
export async function readIterableUpTo(chunks: AsyncIterable<Uint8Array>, declaredLength: number): Promise<Uint8Array<ArrayBuffer>> {
  const body = new Uint8Array(declaredLength);
  let received = 0;
  for await (const chunk of chunks) {
    // Leaving the loop early stops the iteration, so nothing beyond the declared length is read.
    if (received + chunk.byteLength > declaredLength) throw new BodyLengthError(received + chunk.byteLength, declaredLength, true);
    body.set(chunk, received);
    received += chunk.byteLength;
  }
  if (received < declaredLength) throw new BodyLengthError(received, declaredLength, false);
  return body;
}
