/** A fixed-size ring of recent latency samples, for percentiles without unbounded memory. */

export interface LatencySummary {
  readonly avg: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export class LatencyWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  constructor(capacity = 1024) {
    this.#samples = new Float64Array(capacity);
  }

  add(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  /** Nearest-rank percentiles over the window; sorting happens here, off the request path. */
  summary(): LatencySummary | null {
    if (this.#count === 0) return null;
    const sorted = this.#samples.slice(0, this.#count).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    // The index is within 0..length-1 and the window is not empty (checked above).
    const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
    return { avg: round(sum / sorted.length), p50: round(rank(50)), p95: round(rank(95)), p99: round(rank(99)) };
  }
}
