/** The memory ladder's `accesslog` step writes its lines as Fairway's access log sink does: the same batches, byte for byte. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { batchedLines } from '../../bench/repro/proxy-steps-common.mjs';
import { batchedLineSink } from '../../src/core/stats/access-log.ts';

const DISPOSE = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('Symbol.dispose');

describe('bench accesslog step (bench/repro/proxy-steps-common.mjs)', () => {
  test("batchedLines writes the same batches as Fairway's batchedLineSink, full buffers and long lines included", async () => {
    const decoder = new TextDecoder();
    const fairway: string[] = [];
    const step: string[] = [];
    const options = { batchBytes: 32, flushIntervalMs: 60_000 };
    const sink = batchedLineSink((record) => String(record.properties.text), { ...options, write: (b) => void fairway.push(decoder.decode(b)) });
    const lines = batchedLines({ ...options, write: (b: Uint8Array) => void step.push(decoder.decode(b)) });
    const texts = ['one', 'zwei ü', 'x'.repeat(40), 'drei', '', 'vier €', 'five five five five', 'six six six six', 'seven'];
    for (const text of texts) {
      sink({ category: ['t'], level: 'info', message: [], rawMessage: '', timestamp: 0, properties: { text } });
      lines.add(text);
    }
    // Neither writes inside the call that logs.
    assert.deepEqual([fairway.length, step.length], [0, 0]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(fairway.length > 2, `several batches, got ${fairway.length}`);
    (sink as unknown as Record<symbol, () => void>)[DISPOSE]!();
    lines.flush();
    assert.deepEqual(step, fairway);
  });
});
