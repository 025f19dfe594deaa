/** Start-up behaviour: config errors exit before listening; demo mode without BACKEND_SERVERS. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { getStats, request } from '../support/http.ts';
import { pollUntil, TEST_TIMEOUT_MS } from '../support/poll.ts';
import { isEvent, type ProxyHandle, runToExit, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';

const VALID_BACKEND = 'http://127.0.0.1:9'; // never contacted: these runs must exit before listening

const BAD_CONFIGS: { name: string; env: Record<string, string>; variable: string; value: string }[] = [
  { name: 'unknown algorithm', env: { ALGORITHM: 'fastest' }, variable: 'ALGORITHM', value: 'fastest' },
  { name: 'non-http backend', env: { BACKEND_SERVERS: 'ftp://x' }, variable: 'BACKEND_SERVERS', value: 'ftp://x' },
  { name: 'non-numeric port', env: { PORT: 'eighty' }, variable: 'PORT', value: 'eighty' },
  { name: 'unknown log level', env: { LOG_LEVEL: 'loud' }, variable: 'LOG_LEVEL', value: 'loud' },
  { name: 'non-numeric upstream timeout', env: { UPSTREAM_TIMEOUT_MS: 'soon' }, variable: 'UPSTREAM_TIMEOUT_MS', value: 'soon' },
];

for (const runtime of selectedRuntimes()) {
  describe(`configuration [${runtime.name}]`, () => {
    for (const bad of BAD_CONFIGS) {
      test(`bad config (${bad.name}) exits non-zero naming ${bad.variable}, without a stack trace`, { timeout: TEST_TIMEOUT_MS }, async () => {
        const env = { BACKEND_SERVERS: VALID_BACKEND, ...bad.env };
        const res = await runToExit(runtime, env, { timeoutMs: 30_000 });
        const context = `\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}`;
        assert.equal(res.timedOut, false, `still running after 30 s (it should exit)${context}`);
        assert.notEqual(res.code, 0, `exit code ${res.code}${context}`);
        assert.equal(res.signal, null, `killed by ${res.signal}${context}`);
        assert.ok(res.stderr.includes(bad.variable), `stderr names ${bad.variable}${context}`);
        assert.ok(res.stderr.includes(bad.value), `stderr names the value ${bad.value}${context}`);
        const stackLines = res.stderr.split('\n').filter((l) => /^\s+at /.test(l));
        assert.deepEqual(stackLines, [], `stack trace on stderr${context}`);
        assert.equal(res.logs.filter(isEvent('listening')).length, 0, `listened despite the bad config${context}`);
      });
    }

    describe('demo mode (BACKEND_SERVERS unset)', () => {
      let proxy: ProxyHandle | undefined;
      after(async () => {
        await proxy?.stop();
      });

      test('answers proxied requests 200 and logs a warning', { timeout: TEST_TIMEOUT_MS }, async () => {
        proxy = await startProxy(runtime, { BACKEND_SERVERS: undefined, PORT: '0' });
        const p = proxy;
        await p.waitForLog((l) => /^warn/i.test(String(l.level)), 5000);
        const stats = await getStats(p.url);
        assert.ok(stats.servers.length >= 1, 'demo servers configured');
        for (const s of stats.servers) assert.match(s.url, /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):\d+$/);
        await pollUntil(async () => (await getStats(p.url)).servers.every((s) => s.lastHealthCheck?.ok === true), {
          description: 'demo backends pass their health checks',
        });
        for (let i = 0; i < 4; i++) {
          const res = await request(`${p.url}/hello?i=${i}`);
          assert.equal(res.status, 200, `demo answered ${res.status}: ${res.text().slice(0, 200)}`);
        }
        const after = await getStats(p.url);
        assert.ok(after.totals.requests >= 4);
        assert.equal(after.totals.errors, 0);
      });
    });
  });
}
