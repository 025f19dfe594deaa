/** Splits a worker's output stream into lines. */

/** Splits a byte or text stream into lines, keeping a partial last line until more arrives. */
export class LineSplitter {
  readonly #decoder = new TextDecoder();
  #partial = '';

  /** The complete lines in `chunk` (plus what was pending), without their line breaks. */
  push(chunk: Uint8Array | string): string[] {
    const text = this.#partial + (typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true }));
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }

  /** What is left once the stream ended: a last line without a line break, if any. */
  end(): string[] {
    const rest = this.#partial + this.#decoder.decode();
    this.#partial = '';
    return rest === '' ? [] : [rest];
  }
}
