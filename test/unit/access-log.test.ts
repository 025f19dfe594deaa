/** The access log: its JSON and combined lines, its own category independent of LOG_LEVEL, and the off switch. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dispose, reset } from '@logtape/logtape';
import { accessLogEntry, accessLogSink, batchedLineSink, formatCombined, formatJson } from '../../src/core/stats/access-log.ts';
import { configureLogging } from '../../src/core/logging.ts';
import type { RequestOutcome } from '../../src/core/stats/request-outcome.ts';

const outcome: RequestOutcome = {
  startedAt: Date.UTC(2026, 11, 1, 9, 5, 7, 250),
  requestId: 'req-1',
  clientAddress: '203.0.113.9',
  method: 'GET',
  target: '/a b/"x"?q=1',
  server: { url: 'http://10.0.0.2:5001' },
  status: 200,
  failure: undefined,
  abandoned: false,
  attempts: 2,
  serversTried: ['http://10.0.0.1:5001', 'http://10.0.0.2:5001'],
  headersMs: 3.14159,
  totalMs: 12.5,
  bytesIn: 7,
  bytesOut: 1234,
  referer: 'https://example.test/',
  userAgent: 'curl/8.5.0',
};

/** Runs `fn` with console.log captured; the non-blocking sink writes from a timer, so dispose() flushes it first. */
async function captureConsole(fn: () => void): Promise<string[]> {
  const lines: string[] = [];
  const original = console.log;
  // The sink writes a batch of lines per call.
  console.log = (...args: unknown[]) => void lines.push(...args.join(' ').split('\n'));
  try {
    fn();
    await dispose();
  } finally {
    console.log = original;
    await reset();
  }
  return lines;
}

describe('access log', () => {
  test('a JSON line carries every field of the request, path and client text escaped by JSON', () => {
    assert.deepEqual(JSON.parse(formatJson(accessLogEntry(outcome))), {
      time: '2026-12-01T09:05:07.250Z',
      requestId: 'req-1',
      client: '203.0.113.9',
      method: 'GET',
      path: '/a b/"x"?q=1',
      status: 200,
      server: 'http://10.0.0.2:5001',
      attempts: 2,
      serversTried: ['http://10.0.0.1:5001', 'http://10.0.0.2:5001'],
      upstreamHeadersMs: 3.142,
      totalMs: 12.5,
      bytesIn: 7,
      bytesOut: 1234,
      referer: 'https://example.test/',
      userAgent: 'curl/8.5.0',
    });
  });

  test('a request Fairway answered itself has server and upstream time null', () => {
    const e = accessLogEntry({ ...outcome, server: undefined, status: 503, attempts: 0, serversTried: [], headersMs: undefined });
    assert.equal(e.server, null);
    assert.equal(e.upstreamHeadersMs, null);
  });

  test('combined format is nginx/Apache combined, with quotes and control characters escaped as \\xHH', () => {
    assert.equal(
      formatCombined(accessLogEntry(outcome)),
      '203.0.113.9 - - [01/Dec/2026:09:05:07 +0000] "GET /a b/\\x22x\\x22?q=1 HTTP/1.1" 200 1234 "https://example.test/" "curl/8.5.0"',
    );
    const forged = accessLogEntry({ ...outcome, bytesOut: 0, referer: '', userAgent: 'x"\n127.0.0.1 - - [fake]' });
    const line = formatCombined(forged);
    assert.ok(!line.includes('\n'));
    assert.match(line, / 200 - "-" "x\\x22\\x0A127\.0\.0\.1 - - \[fake\]"$/);
  });

  test('with LOG_LEVEL=error the access log still writes one line per request, through its own category', async () => {
    const lines = await captureConsole(() => {
      configureLogging('error', 'json', 'json');
      const sink = accessLogSink('json');
      sink.record(outcome);
      sink.record({ ...outcome, requestId: 'req-2' });
    });
    const access = lines.map((l) => JSON.parse(l)).filter((o) => o.requestId !== undefined);
    assert.deepEqual(access.map((o) => o.requestId), ['req-1', 'req-2']);
    assert.equal(access[0].path, '/a b/"x"?q=1');
  });

  test('ACCESS_LOG=combined writes combined lines; off writes nothing', async () => {
    const combined = await captureConsole(() => {
      configureLogging('info', 'json', 'combined');
      accessLogSink('combined').record(outcome);
    });
    assert.deepEqual(combined.filter((l) => l.startsWith('203.0.113.9 ')).length, 1);
    const off = await captureConsole(() => {
      configureLogging('debug', 'json', 'off');
      accessLogSink('off').record(outcome);
      accessLogSink('json').record(outcome); // even a stray json sink has no configured category to write to
    });
    assert.deepEqual(off, []);
  });

  test('lines are written in batches: several requests, one console.log, one line each, in order', async () => {
    const calls: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void calls.push(args.join(' '));
    try {
      configureLogging('info', 'json', 'json');
      const sink = accessLogSink('json');
      for (const requestId of ['a', 'b', 'c']) sink.record({ ...outcome, requestId });
      await dispose();
    } finally {
      console.log = original;
      await reset();
    }
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.split('\n').map((line) => JSON.parse(line).requestId), ['a', 'b', 'c']);
  });

  test('a full batch buffer is written from a timer, after the request that logged; every line is written once, in order', async () => {
    const batches: string[] = [];
    const decoder = new TextDecoder();
    const sink = batchedLineSink((record) => String(record.properties.text), {
      batchBytes: 32,
      flushIntervalMs: 60_000,
      write: (bytes) => void batches.push(decoder.decode(bytes)),
    });
    const record = (text: string) => sink({ category: ['t'], level: 'info', message: [], rawMessage: '', timestamp: 0, properties: { text } });
    const lines = ['one', 'zwei ü', 'x'.repeat(40), 'drei', '', 'vier €', 'five five five five', 'six six six six', 'seven'];
    for (const line of lines) record(line);
    // Nothing is written inside the call that logs, even once a buffer is full.
    assert.equal(batches.length, 0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(batches.length > 2, `several batches, got ${batches.length}`);
    assert.ok(batches.every((b) => b.endsWith('\n')));
    assert.ok(batches.filter((b) => !b.startsWith('x')).every((b) => new TextEncoder().encode(b).length <= 32));
    assert.deepEqual(batches.join('').split('\n').slice(0, -1), lines);
    // The last lines wait for the interval, or for dispose, which flushes.
    record('eight');
    assert.equal(batches.at(-1), 'six six six six\nseven\n');
    const dispose = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('Symbol.dispose');
    (sink as unknown as Record<symbol, () => void>)[dispose]!();
    assert.equal(batches.at(-1), 'eight\n');
  });

  test('a batch whose write throws is not written again with the next one', () => {
    const written: string[] = [];
    let fail = true;
    const sink = batchedLineSink((record) => String(record.properties.text), {
      batchBytes: 64,
      flushIntervalMs: 60_000,
      write: (bytes) => {
        if (fail) throw new Error('stdout closed');
        written.push(new TextDecoder().decode(bytes));
      },
    });
    const record = (text: string) => sink({ category: ['t'], level: 'info', message: [], rawMessage: '', timestamp: 0, properties: { text } });
    const flush = (sink as unknown as Record<symbol, () => void>)[(Symbol as { dispose?: symbol }).dispose ?? Symbol.for('Symbol.dispose')]!;
    record('lost');
    assert.throws(() => flush.call(sink), /stdout closed/);
    fail = false;
    record('kept');
    flush.call(sink);
    assert.deepEqual(written, ['kept\n']);
  });
});
