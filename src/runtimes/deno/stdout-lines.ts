/** The access log's batch writer on Deno: the batch's bytes straight to standard output, without a string between. */
import type { LineBatchWriter } from '../../core/stats/access-log.ts';

/**
 * The core's default (TextDecoder, then console.log, which Deno encodes to UTF-8 again after scanning the text for
 * format specifiers) cost 1.7 µs a line on Deno here; writing the bytes costs 0.15 (bench/repro/access-log-flush.ts, bench/results/s11-dab.md).
 * writeSync may write part of the batch: it loops until all is written, and returns done with the bytes as the sink asks.
 */
export const writeStdoutLines: LineBatchWriter = (lines) => {
  let offset = 0;
  while (offset < lines.length) offset += Deno.stdout.writeSync(lines.subarray(offset));
};
