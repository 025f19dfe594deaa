/**
 * Microbenchmark of recording one request's metrics: ns per request (and heap bytes, with mitata's --expose-gc figures).
 *
 *   npx tsx bench/metrics-recording.bench.ts      (also runs under `deno run -A` and `bun run`)
 *
 * before:  the /lb/stats recent window alone (`Metrics.recordResponse`), as the balancer records today;
 * prom-client, label objects:   counter.inc({...}) + histogram.observe({...}, s), the usual prom-client call;
 * prom-client, cached children: the same through children from `labels()` cached per server, code class and method;
 * after:   `record(outcome)` feeding the recent window and `PrometheusMetrics` (typed arrays).
 * The outcome object is built once outside the timing: the lifecycle's Exchange is that object.
 */
import { bench, do_not_optimize, group, run, summary } from 'mitata';
import { Counter, Histogram, Registry } from 'prom-client';
import { Metrics } from '../src/core/stats/metrics.ts';
import { DURATION_BUCKETS_SECONDS, PrometheusMetrics } from '../src/core/stats/prometheus.ts';
import { recentWindowSink, recorder, type RequestOutcome } from '../src/core/stats/request-outcome.ts';
import { UpstreamServer } from '../src/core/upstream/upstream-server.ts';

const servers = [0, 1, 2].map((i) => new UpstreamServer(i, `http://127.0.0.1:500${i}`, 1));
const outcomes: RequestOutcome<UpstreamServer>[] = servers.map((server, i) => ({
  startedAt: Date.now(),
  requestId: 'r',
  clientAddress: '127.0.0.1',
  method: 'GET',
  target: '/x',
  server,
  status: 200,
  failure: undefined,
  abandoned: false,
  attempts: 1,
  serversTried: [],
  headersMs: 1.5 + i,
  totalMs: 2 + i,
  bytesIn: 0,
  bytesOut: 128,
}));

const metrics = new Metrics(servers.length);
const registry = new Registry();
const counter = new Counter({ name: 'r_total', help: 'r', labelNames: ['server', 'code_class', 'method'] as const, registers: [registry] });
const histogram = new Histogram({
  name: 'd_seconds',
  help: 'd',
  labelNames: ['server'] as const,
  buckets: [...DURATION_BUCKETS_SECONDS],
  registers: [registry],
});
const children = new Map<string, { inc: () => void; observe: (v: number) => void }>();
const record = recorder(recentWindowSink(metrics), new PrometheusMetrics());

let n = 0;
summary(() => {
  group('record one request', () => {
    bench('before: recent window only (Metrics.recordResponse)', () => {
      const o = outcomes[n++ % 3]!;
      metrics.recordResponse(o.server!, o.status, o.headersMs!);
    });
    bench('prom-client, label objects per call', () => {
      const o = outcomes[n++ % 3]!;
      counter.inc({ server: o.server!.url, code_class: '2xx', method: o.method });
      histogram.observe({ server: o.server!.url }, o.totalMs / 1000);
    });
    bench('prom-client, cached label children', () => {
      const o = outcomes[n++ % 3]!;
      const key = o.server!.url; // a real cache keys on server × class × method; one key keeps this a lower bound
      let c = children.get(key);
      if (c === undefined) {
        const inc = counter.labels(o.server!.url, '2xx', o.method);
        const obs = histogram.labels(o.server!.url);
        c = { inc: () => inc.inc(), observe: (v: number) => obs.observe(v) };
        children.set(key, c);
      }
      c.inc();
      c.observe(o.totalMs / 1000);
    });
    bench('after: record(outcome) -> recent window + PrometheusMetrics', () => {
      record(outcomes[n++ % 3]!);
    });
  });
});
do_not_optimize(n);
await run();
