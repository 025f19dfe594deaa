/** The upstream client the runtime entrypoint hands the core: the fetch signature plus what it does to bodies. */

export interface UpstreamRequestInit {
  method: string;
  headers: Headers;
  /** A stream, or the bytes of a body buffered for replay (RETRY_BUFFER_BYTES). */
  body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer> | null;
  signal: AbortSignal;
  redirect: 'manual';
  /** Required by fetch implementations when `body` is a stream. */
  duplex: 'half';
}

export interface UpstreamClient {
  fetch(url: string, init: UpstreamRequestInit): Promise<Response>;
  /**
   * True when the client gunzips bodies itself but keeps `Content-Encoding`, as every runtime's fetch does
   * by default. The core then drops the encoding headers so they match the bytes the client gets.
   */
  readonly decodesCompressedBodies: boolean;
  close?(): Promise<void>;
  /**
   * For a response this client returned: how to free one of its body chunks at once, or undefined to leave them to
   * the garbage collector. The Web forwarder calls it on each chunk it passed through, once the runtime's server has
   * taken it (when the server asks for the next chunk). Only a runtime whose server is then done with the chunk, and
   * whose client gives each chunk a buffer of its own, may offer it (Deno: bench/repro/deno-stream-rss.mjs).
   */
  chunkReleaser?(response: Response): ((chunk: Uint8Array) => void) | undefined;
  /**
   * Settings from the validated config, before the first request. Node's undici client applies
   * UPSTREAM_CONNECT_TIMEOUT_MS; Deno's and Bun's fetch have no connect timeout (see the README's runtime table).
   */
  configure?(options: { readonly connectTimeoutMs: number }): void;
}
