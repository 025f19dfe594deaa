/**
 * What one access log line costs, by part, without sockets: LogTape's `info()` with the entry as properties (the
 * way Fairway logged it before), the sink Fairway uses (`Logger.emit` of a ready record), and the entry, its time
 * and its JSON line alone. Lines go to stdout in batches, as in Fairway; send them to /dev/null.
 *
 *   bun bench/repro/access-log-cost.ts > /dev/null
 *   deno run -A bench/repro/access-log-cost.ts > /dev/null
 *   node bench/repro/access-log-cost.ts > /dev/null   (Node 22.18 and later)
 */
import process from 'node:process';
import { getLogger } from '@logtape/logtape';
import { configureLogging } from '../../src/core/logging.ts';
import { ACCESS_LOG_CATEGORY, accessLogEntry, accessLogSink, formatJson } from '../../src/core/stats/access-log.ts';
import type { RequestOutcome } from '../../src/core/stats/request-outcome.ts';

configureLogging('info', 'json', 'json');
const outcome = (): RequestOutcome => ({
  startedAt: Date.now(),
  requestId: crypto.randomUUID(),
  clientAddress: '127.0.0.1',
  method: 'GET',
  target: '/small',
  server: { url: 'http://127.0.0.1:18081' },
  status: 200,
  failure: undefined,
  abandoned: false,
  attempts: 1,
  serversTried: [],
  headersMs: 0.123456,
  totalMs: 0.3456,
  bytesIn: 0,
  bytesOut: 128,
  referer: '',
  userAgent: 'wrk',
});
const N = 200_000;
/** Batches of 1000 with a turn of the event loop between them, so the sink's timer writes as it does under load. */
async function time(name: string, f: (o: RequestOutcome) => void): Promise<void> {
  const samples = Array.from({ length: 1000 }, outcome);
  let spent = 0;
  for (let b = 0; b < N / 1000 + 20; b++) {
    const t = performance.now();
    for (let i = 0; i < 1000; i++) f(samples[i]!);
    if (b >= 20) spent += performance.now() - t;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  process.stderr.write(`${name.padEnd(40)} ${(spent * 1000 / N).toFixed(2)} µs\n`);
}
const sink = accessLogSink('json');
const log = getLogger([...ACCESS_LOG_CATEGORY]);
for (let round = 0; round < 2; round++) {
  await time('LogTape info(template, entry)', (o) => log.info('{method} {path} {status}', accessLogEntry(o) as unknown as Record<string, unknown>));
  await time('Fairway access log sink (emit)', (o) => sink.record(o));
  await time('the entry alone', (o) => accessLogEntry(o));
  await time('its JSON line alone', (o) => formatJson(accessLogEntry(o)));
}
process.exit(0);
