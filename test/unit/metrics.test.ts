/** Request, error and latency accounting per server and in total. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/core/stats/metrics.ts';
import { UpstreamServer } from '../../src/core/upstream/upstream-server.ts';

function setup(count = 2) {
  const servers = Array.from({ length: count }, (_, i) => new UpstreamServer(i, `http://10.0.0.${i + 1}:80`, 1));
  return { servers, metrics: new Metrics(count) };
}

describe('Metrics', () => {
  test('starts at zero, with no latency summary', () => {
    const { servers, metrics } = setup();
    assert.deepEqual(metrics.totals(), { requests: 0, errors: 0 });
    assert.deepEqual(metrics.server(servers[0]!), { requests: 0, errors: 0, latency: null });
  });

  test('a response counts a request for its server and in total, and adds a latency sample', () => {
    const { servers, metrics } = setup();
    metrics.recordResponse(servers[1]!, 200, 12);
    assert.deepEqual(metrics.totals(), { requests: 1, errors: 0 });
    assert.deepEqual(metrics.server(servers[1]!), { requests: 1, errors: 0, latency: { avg: 12, p50: 12, p95: 12, p99: 12 } });
    assert.deepEqual(metrics.server(servers[0]!), { requests: 0, errors: 0, latency: null });
  });

  test('5xx responses are errors; 4xx and other statuses below 500 are not', () => {
    const { servers, metrics } = setup(1);
    const s = servers[0]!;
    for (const status of [200, 204, 301, 404, 499]) metrics.recordResponse(s, status, 1);
    assert.deepEqual(metrics.totals(), { requests: 5, errors: 0 });
    for (const status of [500, 502, 503, 599]) metrics.recordResponse(s, status, 1);
    assert.deepEqual(metrics.totals(), { requests: 9, errors: 4 });
    assert.equal(metrics.server(s).errors, 4);
  });

  test('a failure (refused, reset, timed out) is a request and an error, but no latency sample', () => {
    const { servers, metrics } = setup(1);
    const s = servers[0]!;
    metrics.recordFailure(s);
    assert.deepEqual(metrics.totals(), { requests: 1, errors: 1 });
    assert.deepEqual(metrics.server(s), { requests: 1, errors: 1, latency: null });
    assert.equal(s.latencyEwmaMs, undefined);
  });

  test('an abandoned request (client left first) is counted but is not an error and adds no latency', () => {
    const { servers, metrics } = setup(1);
    const s = servers[0]!;
    metrics.recordAbandoned(s);
    assert.deepEqual(metrics.totals(), { requests: 1, errors: 0 });
    assert.deepEqual(metrics.server(s), { requests: 1, errors: 0, latency: null });
    assert.equal(s.latencyEwmaMs, undefined);
  });

  test('a 503 for lack of a healthy server counts in totals only', () => {
    const { servers, metrics } = setup();
    metrics.recordNoServer();
    metrics.recordNoServer();
    assert.deepEqual(metrics.totals(), { requests: 2, errors: 2 });
    for (const s of servers) assert.deepEqual(metrics.server(s), { requests: 0, errors: 0, latency: null });
  });

  test('the latency average starts at the first sample, then moves part way toward each new sample', () => {
    const { servers, metrics } = setup(1);
    const s = servers[0]!;
    metrics.recordResponse(s, 200, 100);
    assert.equal(s.latencyEwmaMs, 100);
    metrics.recordResponse(s, 200, 200);
    const afterOne = s.latencyEwmaMs!;
    assert.ok(afterOne > 100 && afterOne < 200, `expected between 100 and 200, got ${afterOne}`);
    let previous = afterOne;
    for (let i = 0; i < 30; i++) {
      metrics.recordResponse(s, 200, 200);
      assert.ok(s.latencyEwmaMs! > previous && s.latencyEwmaMs! <= 200, `not converging: ${previous} -> ${s.latencyEwmaMs}`);
      previous = s.latencyEwmaMs!;
    }
    assert.ok(previous > 199.9, `after 30 samples of 200 the average is still ${previous}`);
    metrics.recordResponse(s, 200, 0);
    assert.ok(s.latencyEwmaMs! < previous && s.latencyEwmaMs! > 0, 'a fast sample lowers the average part way');
  });

  test('a 5xx response still feeds the latency average and window', () => {
    const { servers, metrics } = setup(1);
    const s = servers[0]!;
    metrics.recordResponse(s, 503, 7);
    assert.equal(s.latencyEwmaMs, 7);
    assert.equal(metrics.server(s).latency?.p50, 7);
  });

  test('servers keep separate counters and averages', () => {
    const { servers, metrics } = setup();
    metrics.recordResponse(servers[0]!, 200, 10);
    metrics.recordResponse(servers[1]!, 500, 30);
    metrics.recordFailure(servers[1]!);
    assert.deepEqual(metrics.server(servers[0]!).requests, 1);
    assert.deepEqual(metrics.server(servers[0]!).errors, 0);
    assert.deepEqual(metrics.server(servers[1]!).requests, 2);
    assert.deepEqual(metrics.server(servers[1]!).errors, 2);
    assert.equal(servers[0]!.latencyEwmaMs, 10);
    assert.equal(servers[1]!.latencyEwmaMs, 30);
    assert.deepEqual(metrics.totals(), { requests: 3, errors: 2 });
  });
});
