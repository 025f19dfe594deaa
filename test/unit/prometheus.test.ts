/** The Prometheus series: what one recorded outcome adds, and text that a real exposition-format parser reads back. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PROMETHEUS_CONTENT_TYPE, PrometheusMetrics } from '../../src/core/stats/prometheus.ts';
import type { RequestOutcome } from '../../src/core/stats/request-outcome.ts';
import { type ParsedFamily, parseHistogram, parsePrometheusText } from '../support/prometheus-text.ts';

const A = { url: 'http://127.0.0.1:5001' };
const B = { url: 'http://127.0.0.1:5002' };

function outcome(over: Partial<RequestOutcome> = {}): RequestOutcome {
  return {
    startedAt: 0,
    requestId: 'r1',
    clientAddress: '127.0.0.1',
    method: 'GET',
    target: '/users/42?secret=1',
    server: A,
    status: 200,
    failure: undefined,
    abandoned: false,
    attempts: 1,
    serversTried: [],
    headersMs: 3,
    totalMs: 4,
    bytesIn: 0,
    bytesOut: 10,
    ...over,
  };
}

const view = { servers: [{ url: A.url, inFlight: 2, healthy: true }, { url: B.url, inFlight: 0, healthy: false }] };

function scrape(m: PrometheusMetrics, v: Parameters<PrometheusMetrics['render']>[0] = view): Map<string, ParsedFamily> {
  return new Map(parsePrometheusText(m.render(v)).map((f) => [f.name, f]));
}

/** The value of the sample whose labels include `labels`, or undefined. */
function valueOf(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.get(name);
  const found = family?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return found?.value === undefined ? undefined : Number(found.value);
}

describe('PrometheusMetrics', () => {
  test('every family a real parser reads has HELP, the right TYPE and no raw path in any label', () => {
    const m = new PrometheusMetrics({ startedAt: 1_700_000_000_000 });
    m.record(outcome());
    m.record(outcome({ status: 502, failure: 'connect', headersMs: undefined }));
    const text = m.render(view);
    assert.ok(text.endsWith('\n'));
    assert.ok(!text.includes('/users/42'), 'the request target must never appear');
    const families = scrape(m);
    const types = Object.fromEntries([...families].map(([name, f]) => [name, f.type]));
    assert.deepEqual(types, {
      fairway_requests_total: 'COUNTER',
      fairway_request_duration_seconds: 'HISTOGRAM',
      fairway_upstream_in_flight: 'GAUGE',
      fairway_upstream_up: 'GAUGE',
      fairway_upstream_errors_total: 'COUNTER',
      fairway_health_checks_total: 'COUNTER',
      fairway_upstream_received_bytes_total: 'COUNTER',
      fairway_upstream_sent_bytes_total: 'COUNTER',
      fairway_retries_total: 'COUNTER',
      fairway_ejections_total: 'COUNTER',
      fairway_queue_length: 'GAUGE',
      fairway_queue_wait_seconds: 'HISTOGRAM',
      fairway_queue_rejected_total: 'COUNTER',
      fairway_process_start_time_seconds: 'GAUGE',
    });
    for (const f of families.values()) assert.ok(f.help.length > 10, `${f.name} has no help text`);
    assert.equal(valueOf(families, 'fairway_process_start_time_seconds'), 1_700_000_000);
    assert.equal(PROMETHEUS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
  });

  test('requests are counted by server, status class and method; a non-standard method counts as other', () => {
    const m = new PrometheusMetrics();
    m.record(outcome());
    m.record(outcome({ status: 204 }));
    m.record(outcome({ server: B, status: 404, method: 'POST' }));
    m.record(outcome({ method: 'PURGE' }));
    m.record(outcome({ method: 'get' })); // methods are case-sensitive (RFC 9110 §9.1): "get" is not GET
    const f = scrape(m);
    assert.equal(valueOf(f, 'fairway_requests_total', { server: A.url, code_class: '2xx', method: 'GET' }), 2);
    assert.equal(valueOf(f, 'fairway_requests_total', { server: A.url, code_class: '2xx', method: 'other' }), 2);
    assert.equal(valueOf(f, 'fairway_requests_total', { server: B.url, code_class: '4xx', method: 'POST' }), 1);
    const methods = new Set(f.get('fairway_requests_total')!.metrics.map((s) => s.labels!.method));
    assert.deepEqual([...methods].sort(), ['GET', 'POST', 'other']);
  });

  test('the duration histogram has cumulative buckets from 1 ms to 10 s, +Inf, sum and count', () => {
    const m = new PrometheusMetrics();
    for (const ms of [0.5, 1, 7, 300, 20_000]) m.record(outcome({ totalMs: ms }));
    m.record(outcome({ server: B, totalMs: 5000 }));
    const h = parseHistogram(m.render(view), 'fairway_request_duration_seconds', `server="${A.url}"`)!;
    assert.deepEqual(Object.keys(h.buckets!).map((le) => (le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le))).sort((a, b) => a - b), [
      0.001,
      0.0025,
      0.005,
      0.01,
      0.025,
      0.05,
      0.1,
      0.25,
      0.5,
      1,
      2.5,
      5,
      10,
      Number.POSITIVE_INFINITY,
    ]);
    assert.equal(Number(h.buckets!['0.001']), 2); // le is inclusive: 1 ms falls in the 1 ms bucket
    assert.equal(Number(h.buckets!['0.01']), 3);
    assert.equal(Number(h.buckets!['0.5']), 4);
    assert.equal(Number(h.buckets!['10']), 4);
    assert.equal(Number(h.buckets!['+Inf']), 5);
    assert.equal(Number(h.count), 5);
    assert.ok(Math.abs(Number(h.sum) - 20.3085) < 1e-9);
  });

  test('errors are counted by kind: connect, timeout, reset, and 5xx answers; a client leaving is not an error', () => {
    const m = new PrometheusMetrics();
    m.record(outcome({ status: 502, failure: 'connect', headersMs: undefined }));
    m.record(outcome({ status: 504, failure: 'timeout', headersMs: undefined }));
    m.record(outcome({ status: 502, failure: 'reset' }));
    m.record(outcome({ status: 503 }));
    m.record(outcome({ status: 500 }));
    m.record(outcome({ status: 499, abandoned: true, headersMs: undefined }));
    const f = scrape(m);
    const errors = (kind: string) => valueOf(f, 'fairway_upstream_errors_total', { server: A.url, kind });
    assert.deepEqual([errors('connect'), errors('timeout'), errors('reset'), errors('5xx')], [1, 1, 1, 2]);
    assert.equal(valueOf(f, 'fairway_requests_total', { server: A.url, code_class: '4xx' }), 1);
    assert.equal(valueOf(f, 'fairway_upstream_errors_total', { server: B.url }), undefined, 'no series for a server never seen');
  });

  test('requests Fairway answered itself count under server="none", with no upstream error', () => {
    const m = new PrometheusMetrics();
    m.record(outcome({ server: undefined, status: 503, attempts: 0, headersMs: undefined }));
    const f = scrape(m);
    assert.equal(valueOf(f, 'fairway_requests_total', { server: 'none', code_class: '5xx' }), 1);
    assert.equal(f.get('fairway_upstream_errors_total')!.metrics.length, 0);
  });

  test('gauges come from the view at scrape time; retries, health checks, ejections and queue figures are counted', () => {
    const m = new PrometheusMetrics();
    m.addServer(B);
    m.record(outcome({ attempts: 3 }));
    m.recordHealthCheck(A, true);
    m.recordHealthCheck(A, true);
    m.recordHealthCheck(B, false);
    m.recordEjection(B);
    m.recordQueueWait(30);
    m.recordQueueRejection('full');
    const f = scrape(m, { ...view, queueLength: 4 });
    assert.equal(valueOf(f, 'fairway_upstream_in_flight', { server: A.url }), 2);
    assert.equal(valueOf(f, 'fairway_upstream_up', { server: A.url }), 1);
    assert.equal(valueOf(f, 'fairway_upstream_up', { server: B.url }), 0);
    assert.equal(valueOf(f, 'fairway_retries_total'), 2);
    assert.equal(valueOf(f, 'fairway_health_checks_total', { server: A.url, result: 'success' }), 2);
    assert.equal(valueOf(f, 'fairway_health_checks_total', { server: B.url, result: 'failure' }), 1);
    assert.equal(valueOf(f, 'fairway_ejections_total', { server: B.url }), 1);
    assert.equal(valueOf(f, 'fairway_queue_length'), 4);
    assert.equal(valueOf(f, 'fairway_queue_rejected_total', { reason: 'full' }), 1);
    assert.equal(Number(parseHistogram(m.render(view), 'fairway_queue_wait_seconds', '')!.buckets!['0.05']), 1);
    assert.equal(valueOf(f, 'fairway_upstream_sent_bytes_total', { server: A.url }), 10);
  });

  test('a removed server drops its series; an added one shows zeros before its first request', () => {
    const m = new PrometheusMetrics();
    m.addServer(B);
    assert.equal(valueOf(scrape(m), 'fairway_upstream_errors_total', { server: B.url, kind: 'connect' }), 0);
    m.removeServer(B);
    assert.equal(valueOf(scrape(m), 'fairway_upstream_errors_total', { server: B.url }), undefined);
  });

  test('a request or health probe that ends after its server was removed does not bring the series back', () => {
    const m = new PrometheusMetrics();
    const removed = { url: B.url };
    m.addServer(removed);
    m.removeServer(removed);
    m.record(outcome({ server: removed, attempts: 2 }));
    m.recordHealthCheck(removed, true);
    m.recordEjection(removed);
    assert.ok(!m.render({ servers: [] }).includes(`server="${B.url}"`), 'no series of the removed server');
    assert.equal(valueOf(scrape(m, { servers: [] }), 'fairway_retries_total'), 1, 'the retry still counts in the total');
    const again = { url: B.url };
    m.addServer(again);
    m.record(outcome({ server: again }));
    assert.equal(valueOf(scrape(m), 'fairway_requests_total', { server: B.url, code_class: '2xx', method: 'GET' }), 1, 'the URL added again counts anew');
  });

  test('with a worker option every sample carries worker="N", so sum() across workers stays right', () => {
    const m = new PrometheusMetrics({ worker: 2 });
    m.record(outcome({ attempts: 2 }));
    const text = m.render(view);
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.ok(samples.length > 20);
    for (const line of samples) assert.match(line, /^\w+\{worker="2"[,}]/);
    assert.equal(valueOf(scrape(m), 'fairway_retries_total', { worker: '2' }), 1);
  });

  test('label values are escaped so any origin text parses back unchanged', () => {
    const odd = { url: 'http://h:1/"quote"\\back\nline' };
    const m = new PrometheusMetrics();
    m.record(outcome({ server: odd }));
    assert.equal(valueOf(scrape(m), 'fairway_requests_total', { server: odd.url }), 1);
  });
});
