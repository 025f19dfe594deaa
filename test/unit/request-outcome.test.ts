/** The single recording entry point: one call per request feeds every sink, and the /lb/stats window gets the right event. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createObservability } from '../../src/core/stats/observability.ts';
import { type RecentWindow, recentWindowSink, recorder, type RequestOutcome } from '../../src/core/stats/request-outcome.ts';

const A = { url: 'http://127.0.0.1:5001' };
const base: RequestOutcome = {
  startedAt: 0,
  requestId: 'r',
  clientAddress: '',
  method: 'GET',
  target: '/',
  server: A,
  status: 200,
  failure: undefined,
  abandoned: false,
  attempts: 1,
  serversTried: [],
  headersMs: 5,
  totalMs: 6,
  bytesIn: 0,
  bytesOut: 0,
};

function fakeWindow(): RecentWindow<typeof A> & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    recordResponse: (s, status, ms) => events.push(`response ${s.url} ${status} ${ms}`),
    recordFailure: (s) => events.push(`failure ${s.url}`),
    recordAbandoned: (s) => events.push(`abandoned ${s.url}`),
    recordNoServer: () => events.push('no server'),
  };
}

describe('record(outcome)', () => {
  test('one call reaches every sink once, in order', () => {
    const seen: string[] = [];
    const record = recorder({ record: (o) => seen.push(`a ${o.requestId}`) }, { record: (o) => seen.push(`b ${o.requestId}`) });
    record(base);
    assert.deepEqual(seen, ['a r', 'b r']);
  });

  test('the /lb/stats window gets a response with time to headers, a failure, an abandonment or a no-server 503', () => {
    const w = fakeWindow();
    const sink = recentWindowSink(w);
    sink.record({ ...base, status: 503 });
    sink.record({ ...base, status: 502, failure: 'connect', headersMs: undefined });
    sink.record({ ...base, status: 499, abandoned: true, headersMs: undefined });
    sink.record({ ...base, server: undefined, status: 503, attempts: 0, headersMs: undefined });
    sink.record({ ...base, server: undefined, status: 405, attempts: 0, headersMs: undefined });
    assert.deepEqual(w.events, [`response ${A.url} 503 5`, `failure ${A.url}`, `abandoned ${A.url}`, 'no server']);
  });
});

describe('createObservability', () => {
  test('one record call reaches the /lb/stats window and the Prometheus series', () => {
    const w = fakeWindow();
    const obs = createObservability({ window: w, accessLog: 'off', worker: 3, servers: [A] });
    obs.record({ ...base, status: 201 });
    assert.deepEqual(w.events, [`response ${A.url} 201 5`]);
    const text = obs.prometheus.render({ servers: [{ url: A.url, inFlight: 0, healthy: true }] });
    assert.match(text, /^fairway_requests_total\{worker="3",server="http:\/\/127\.0\.0\.1:5001",code_class="2xx",method="GET"\} 1$/m);
  });
});
