/**
 * Frees a passed-through body chunk's memory as soon as Deno.serve has taken it (UpstreamClient.chunkReleaser).
 *
 * Deno's fetch reads each body chunk into a buffer of its own, and Deno.serve hands a chunk of a stream body to its
 * Rust side before it reads the next one. A chunk the Web forwarder passed on is then garbage, but its ArrayBuffer
 * stays allocated until V8 collects it, and V8 collects for external memory only after tens of MiB: a 1 GiB
 * download held about +43 MiB more than a native body (bench/repro/deno-stream-rss.mjs, `js` against `release`).
 * Detaching the buffer (`transfer(0)`, ES2024) frees it at once; Deno's Rust side keeps its own reference to
 * whatever it still has to write.
 */

/** Responses from Deno's node:http client (declared-length uploads): their chunks may share a pooled buffer. */
const sharedChunks = new WeakSet<Response>();

/** Marks a response whose chunks must be left alone. */
export function withSharedChunks(response: Response): Response {
  sharedChunks.add(response);
  return response;
}

/** The releaser for a response of Deno's upstream client: every one from fetch, none from node:http. */
export function chunkReleaser(response: Response): ((chunk: Uint8Array) => void) | undefined {
  return sharedChunks.has(response) ? undefined : releaseChunk;
}

type Transferable = ArrayBuffer & { readonly detached?: boolean; transfer?(length: number): ArrayBuffer };

/** Frees one chunk that nothing will read again. */
export function releaseChunk(chunk: Uint8Array): void {
  const buffer = chunk.buffer as Transferable;
  if (buffer.detached === false) buffer.transfer?.(0);
}

/**
 * A streamed request body for Deno's fetch, each chunk freed when fetch asks for the next: Deno's fetch has handed
 * the previous one to Rust by then, as Deno.serve does. Only for a body whose chunks each have a buffer of their own
 * (the client's, read from Deno.serve).
 */
export function releasingBody(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let taken: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (taken !== undefined) releaseChunk(taken);
        taken = undefined;
        const chunk = await reader.read();
        if (chunk.done) return controller.close();
        taken = chunk.value;
        controller.enqueue(chunk.value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
