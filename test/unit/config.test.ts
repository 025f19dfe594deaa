/** Unit tests for parseConfig and formatConfigErrors; runs under node --test, deno test and bun test. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConfigErrors, parseConfig } from '../../src/core/config/config.ts';
import type { Config } from '../../src/core/config/config-types.ts';
import { RESILIENCE_DEFAULTS } from '../../src/core/config/resilience-types.ts';
import { admissionQueueOptions, healthCheckOptions, outlierOptions, retryOptions } from '../../src/core/config/resilience-options.ts';

type Env = Record<string, string | undefined>;

function configOf(env: Env): Config {
  const result = parseConfig(env);
  if (!result.ok) assert.fail(`expected a valid config, got errors:\n${result.errors.join('\n')}`);
  return result.config;
}

function errorsOf(env: Env): string[] {
  const result = parseConfig(env);
  if (result.ok) assert.fail(`expected errors, got config ${JSON.stringify(result.config)}`);
  return result.errors;
}

/** Asserts exactly one error, naming the variable and quoting the offending value, and returns it. */
function onlyError(env: Env, variable: string, value: string): string {
  const errors = errorsOf(env);
  assert.equal(errors.length, 1, `expected one error, got:\n${errors.join('\n')}`);
  const [error = ''] = errors;
  assert.ok(error.includes(variable), `"${error}" should name ${variable}`);
  assert.ok(error.includes(JSON.stringify(value)), `"${error}" should quote ${JSON.stringify(value)}`);
  return error;
}

const servers = (value: string) => configOf({ BACKEND_SERVERS: value }).servers;

describe('parseConfig defaults', () => {
  test('an empty environment yields every documented default and demo mode', () => {
    assert.deepEqual(configOf({}), {
      algorithm: 'round_robin',
      servers: undefined,
      host: '0.0.0.0',
      port: 8080,
      healthCheckPath: '/health',
      healthCheckIntervalMs: 5000,
      healthCheckTimeoutMs: 2000,
      upstreamTimeoutMs: 10000,
      logLevel: 'info',
      logFormat: 'json',
      trustProxy: false,
      preserveHost: false,
      maxRequestBodyBytes: undefined,
      workers: 1,
      hashKey: { kind: 'ip' },
      hashFallback: 'round_robin',
      sticky: undefined,
      clientHeaderTimeoutMs: 60_000,
      clientKeepAliveTimeoutMs: 75_000,
      clientBodyTimeoutMs: 60_000,
      upstreamReadTimeoutMs: 300_000,
      via: true,
      rewriteLocation: true,
      accessLog: 'json',
      adminToken: undefined,
      adminPort: undefined,
      adminHost: '127.0.0.1',
      resilience: RESILIENCE_DEFAULTS,
      websocket: { maxBufferedBytes: 32 * 1024 * 1024, maxMessageBytes: 16 * 1024 * 1024, idleTimeoutMs: 0 },
      tls: undefined,
      httpRedirectPort: undefined,
      upstreamTls: { caFile: undefined, insecure: false },
      responseBufferBytes: 65_536,
    });
  });

  test('empty strings count as unset and fall back to defaults', () => {
    const env: Env = {};
    for (
      const name of [
        'ALGORITHM',
        'BACKEND_SERVERS',
        'HOST',
        'PORT',
        'HEALTH_CHECK_PATH',
        'HEALTH_CHECK_INTERVAL_MS',
        'HEALTH_CHECK_TIMEOUT_MS',
        'UPSTREAM_TIMEOUT_MS',
        'LOG_LEVEL',
        'LOG_FORMAT',
        'WORKERS',
        'ACCESS_LOG',
        'ADMIN_TOKEN',
        'ADMIN_PORT',
        'ADMIN_HOST',
      ]
    ) env[name] = '';
    assert.deepEqual(configOf(env), configOf({}));
  });

  test('BACKEND_SERVERS of only whitespace counts as unset (demo mode)', () => {
    assert.equal(servers('  \t '), undefined);
  });

  test('unrelated environment variables are ignored', () => {
    assert.deepEqual(configOf({ PATH: '/usr/bin', HOME: '/root' }), configOf({}));
  });
});

describe('parseConfig valid values', () => {
  test('every algorithm name is accepted', () => {
    for (const name of ['round_robin', 'weighted_round_robin', 'least_connections', 'least_response_time']) {
      assert.equal(configOf({ ALGORITHM: name }).algorithm, name);
    }
  });

  test('HOST, PORT and HEALTH_CHECK_PATH are taken as given', () => {
    const config = configOf({ HOST: '127.0.0.1', PORT: '3000', HEALTH_CHECK_PATH: '/status/live' });
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 3000);
    assert.equal(config.healthCheckPath, '/status/live');
  });

  test('HOST accepts an IPv6 address', () => {
    assert.equal(configOf({ HOST: '::' }).host, '::');
  });

  test('PORT accepts both ends of the range, 0 meaning any free port', () => {
    assert.equal(configOf({ PORT: '0' }).port, 0);
    assert.equal(configOf({ PORT: '65535' }).port, 65535);
  });

  test('timeouts and the health check interval are parsed as milliseconds', () => {
    const config = configOf({ HEALTH_CHECK_INTERVAL_MS: '1000', HEALTH_CHECK_TIMEOUT_MS: '250', UPSTREAM_TIMEOUT_MS: '30000' });
    assert.equal(config.healthCheckIntervalMs, 1000);
    assert.equal(config.healthCheckTimeoutMs, 250);
    assert.equal(config.upstreamTimeoutMs, 30000);
  });

  test('every log level and log format is accepted', () => {
    for (const level of ['debug', 'info', 'warn', 'error']) assert.equal(configOf({ LOG_LEVEL: level }).logLevel, level);
    for (const format of ['json', 'pretty']) assert.equal(configOf({ LOG_FORMAT: format }).logFormat, format);
  });
});

describe('parseConfig BACKEND_SERVERS', () => {
  test('servers keep their order and default to weight 1', () => {
    assert.deepEqual(servers('http://10.0.0.1:5001,https://10.0.0.2:5002'), [
      { url: 'http://10.0.0.1:5001', weight: 1 },
      { url: 'https://10.0.0.2:5002', weight: 1 },
    ]);
  });

  test(';weight=N sets a server weight', () => {
    assert.deepEqual(servers('http://10.0.0.1:5001;weight=3,http://10.0.0.2:5001'), [
      { url: 'http://10.0.0.1:5001', weight: 3 },
      { url: 'http://10.0.0.2:5001', weight: 1 },
    ]);
  });

  test('whitespace around items is trimmed', () => {
    assert.deepEqual(servers('  http://a:1 ,\thttp://b:2;weight=2  '), [
      { url: 'http://a:1', weight: 1 },
      { url: 'http://b:2', weight: 2 },
    ]);
  });

  test('URLs are normalised to their origin: lower-case host, default port and trailing slash dropped', () => {
    assert.deepEqual(servers('http://LOCALHOST:80/,HTTPS://Example.COM:443'), [
      { url: 'http://localhost', weight: 1 },
      { url: 'https://example.com', weight: 1 },
    ]);
  });

  test('IPv6 server addresses are accepted', () => {
    assert.deepEqual(servers('http://[::1]:5001'), [{ url: 'http://[::1]:5001', weight: 1 }]);
  });
});

describe('parseConfig rejects bad values', () => {
  test('an unknown algorithm is rejected with the list of allowed names', () => {
    assert.equal(
      onlyError({ ALGORITHM: 'fastest' }, 'ALGORITHM', 'fastest'),
      'ALGORITHM="fastest" is not allowed; use one of: round_robin, weighted_round_robin, least_connections, least_response_time, ' +
        'power_of_two, peak_ewma, consistent_hash, random',
    );
  });

  test('algorithm names are case-sensitive and not trimmed', () => {
    onlyError({ ALGORITHM: 'Round_Robin' }, 'ALGORITHM', 'Round_Robin');
    onlyError({ ALGORITHM: ' round_robin' }, 'ALGORITHM', ' round_robin');
  });

  test('an unparsable server URL is rejected', () => {
    const error = onlyError({ BACKEND_SERVERS: 'http://a:1,not a url' }, 'BACKEND_SERVERS', 'not a url');
    assert.match(error, /item 2 .* is not a valid URL/);
  });

  test('a non-http(s) server URL is rejected', () => {
    assert.equal(
      onlyError({ BACKEND_SERVERS: 'http://a:1,ftp://x' }, 'BACKEND_SERVERS', 'ftp://x'),
      'BACKEND_SERVERS item 2 "ftp://x" is not an http or https URL',
    );
  });

  test('a server given as host:port without a scheme is rejected with a hint to add http://', () => {
    const error = onlyError({ BACKEND_SERVERS: 'localhost:5001' }, 'BACKEND_SERVERS', 'localhost:5001');
    assert.match(error, /not an http or https URL; include the scheme, e\.g\. http:\/\/localhost:5001/);
  });

  test('a server URL with a path is rejected, explaining that request paths are forwarded', () => {
    const error = onlyError({ BACKEND_SERVERS: 'http://a:1/api' }, 'BACKEND_SERVERS', 'http://a:1/api');
    assert.match(error, /a path \(\/api\)/);
    assert.match(error, /use http:\/\/a:1/);
    assert.match(error, /forwards each request's own path to the server's origin/);
  });

  test('a server URL with a query or a fragment is rejected', () => {
    assert.match(onlyError({ BACKEND_SERVERS: 'http://a:1/?x=1' }, 'BACKEND_SERVERS', 'http://a:1/?x=1'), /a query/);
    assert.match(onlyError({ BACKEND_SERVERS: 'http://a:1?' }, 'BACKEND_SERVERS', 'http://a:1?'), /a query/);
    assert.match(onlyError({ BACKEND_SERVERS: 'http://a:1#top' }, 'BACKEND_SERVERS', 'http://a:1#top'), /a fragment/);
  });

  test('a server URL with user:password is rejected without echoing the password', () => {
    const error = onlyError({ BACKEND_SERVERS: 'http://bob:s3cret@a:1' }, 'BACKEND_SERVERS', 'http://bob:***@a:1');
    assert.match(error, /user:password/);
    assert.ok(!error.includes('s3cret'), error);
  });

  test('weight 0 is rejected', () => {
    assert.equal(
      onlyError({ BACKEND_SERVERS: 'http://a:1;weight=0' }, 'BACKEND_SERVERS', 'http://a:1;weight=0'),
      'BACKEND_SERVERS item 1 "http://a:1;weight=0": weight must be a positive integer',
    );
  });

  test('negative, fractional, exponent, non-numeric and missing weights are rejected', () => {
    for (const weight of ['-1', '1.5', '1e3', 'abc', '2x', '']) {
      const item = `http://a:1;weight=${weight}`;
      assert.match(onlyError({ BACKEND_SERVERS: item }, 'BACKEND_SERVERS', item), /weight must be a positive integer/);
    }
  });

  test('unknown ;key=value parameters are rejected', () => {
    const item = 'http://a:1;wieght=3';
    assert.match(onlyError({ BACKEND_SERVERS: item }, 'BACKEND_SERVERS', item), /unknown parameter "wieght=3"/);
  });

  test('a weight given twice or a dangling ";" is rejected', () => {
    onlyError({ BACKEND_SERVERS: 'http://a:1;weight=2;weight=3' }, 'BACKEND_SERVERS', 'http://a:1;weight=2;weight=3');
    onlyError({ BACKEND_SERVERS: 'http://a:1;' }, 'BACKEND_SERVERS', 'http://a:1;');
  });

  test('an empty item such as a trailing comma is rejected', () => {
    assert.match(onlyError({ BACKEND_SERVERS: 'http://a:1,' }, 'BACKEND_SERVERS', ''), /item 2 "" is empty/);
    assert.match(onlyError({ BACKEND_SERVERS: 'http://a:1, ,http://b:2' }, 'BACKEND_SERVERS', ''), /item 2 "" is empty/);
  });

  test('the same server listed twice is rejected, also when spelled differently', () => {
    assert.deepEqual(errorsOf({ BACKEND_SERVERS: 'http://a:1,http://b:2,http://a:1' }), [
      'BACKEND_SERVERS lists http://a:1 twice (items 1 and 3); list each server once and use ;weight=N to send it more traffic',
    ]);
    const errors = errorsOf({ BACKEND_SERVERS: 'http://LOCALHOST:80/,http://localhost;weight=2' });
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /^BACKEND_SERVERS lists http:\/\/localhost twice/);
  });

  test('PORT outside 0..65535 is rejected', () => {
    assert.equal(
      onlyError({ PORT: '70000' }, 'PORT', '70000'),
      'PORT="70000" is not allowed; use an integer from 0 to 65535',
    );
    onlyError({ PORT: '65536' }, 'PORT', '65536');
  });

  test('integer variables reject anything but plain digits', () => {
    for (const value of ['10abc', '1e3', ' ', '-1', '3.5', '0x10', '+5', ' 80']) {
      onlyError({ PORT: value }, 'PORT', value);
      onlyError({ UPSTREAM_TIMEOUT_MS: value }, 'UPSTREAM_TIMEOUT_MS', value);
    }
  });

  test('a zero health-check interval or probe timeout is rejected with the reason; 0 for UPSTREAM_TIMEOUT_MS means no limit', () => {
    assert.match(
      onlyError({ HEALTH_CHECK_INTERVAL_MS: '0' }, 'HEALTH_CHECK_INTERVAL_MS', '0'),
      /^HEALTH_CHECK_INTERVAL_MS="0" is not allowed: it is the time between health-check rounds, not a limit/,
    );
    assert.match(onlyError({ HEALTH_CHECK_TIMEOUT_MS: '0' }, 'HEALTH_CHECK_TIMEOUT_MS', '0'), /rounds never overlap/);
    assert.equal(configOf({ UPSTREAM_TIMEOUT_MS: '0' }).upstreamTimeoutMs, 0);
    onlyError({ HEALTH_CHECK_TIMEOUT_MS: '-5' }, 'HEALTH_CHECK_TIMEOUT_MS', '-5');
  });

  test('millisecond values beyond what timers support are rejected', () => {
    assert.match(onlyError({ UPSTREAM_TIMEOUT_MS: '2147483648' }, 'UPSTREAM_TIMEOUT_MS', '2147483648'), /no greater than 2147483647/);
    assert.equal(configOf({ UPSTREAM_TIMEOUT_MS: '2147483647' }).upstreamTimeoutMs, 2147483647);
  });

  test('HEALTH_CHECK_PATH must start with a single "/"', () => {
    onlyError({ HEALTH_CHECK_PATH: 'health' }, 'HEALTH_CHECK_PATH', 'health');
    onlyError({ HEALTH_CHECK_PATH: '//evil.example/health' }, 'HEALTH_CHECK_PATH', '//evil.example/health');
  });

  test('HOST must not be a URL or contain spaces', () => {
    onlyError({ HOST: 'http://0.0.0.0' }, 'HOST', 'http://0.0.0.0');
    onlyError({ HOST: '0.0.0.0 ' }, 'HOST', '0.0.0.0 ');
  });

  test('an unknown log level or log format is rejected with the allowed values', () => {
    assert.equal(
      onlyError({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', 'verbose'),
      'LOG_LEVEL="verbose" is not allowed; use one of: debug, info, warn, error',
    );
    assert.equal(
      onlyError({ LOG_FORMAT: 'text' }, 'LOG_FORMAT', 'text'),
      'LOG_FORMAT="text" is not allowed; use one of: json, pretty',
    );
  });

  test('a non-string value is reported by variable name, not with a zod message', () => {
    const errors = errorsOf({ PORT: 8080 as unknown as string });
    assert.deepEqual(errors, ['PORT must be a string']);
  });
});

describe('parseConfig reports all problems at once', () => {
  test('every bad variable and every bad server item is reported, in variable order', () => {
    const errors = errorsOf({
      ALGORITHM: 'fastest',
      BACKEND_SERVERS: 'http://a:1;weight=0,ftp://x,http://c:3/api,http://a:1',
      PORT: '70000',
      HEALTH_CHECK_INTERVAL_MS: '0',
      HEALTH_CHECK_TIMEOUT_MS: '1.5',
      UPSTREAM_TIMEOUT_MS: '10abc',
      LOG_LEVEL: 'verbose',
      LOG_FORMAT: 'xml',
    });
    const expected: [variable: string, value: string][] = [
      ['ALGORITHM', 'fastest'],
      ['BACKEND_SERVERS item 1', 'http://a:1;weight=0'],
      ['BACKEND_SERVERS item 2', 'ftp://x'],
      ['BACKEND_SERVERS item 3', 'http://c:3/api'],
      ['BACKEND_SERVERS lists', 'http://a:1'],
      ['PORT', '70000'],
      ['HEALTH_CHECK_INTERVAL_MS', '0'],
      ['HEALTH_CHECK_TIMEOUT_MS', '1.5'],
      ['UPSTREAM_TIMEOUT_MS', '10abc'],
      ['LOG_LEVEL', 'verbose'],
      ['LOG_FORMAT', 'xml'],
    ];
    assert.equal(errors.length, expected.length, errors.join('\n'));
    expected.forEach(([variable, value], i) => {
      const error = errors[i] ?? '';
      assert.ok(error.startsWith(variable), `"${error}" should start with ${variable}`);
      assert.ok(error.includes(value), `"${error}" should include ${value}`);
    });
  });

  test('one server item with several problems reports each of them', () => {
    const errors = errorsOf({ BACKEND_SERVERS: 'http://a:1/x;weight=0;color=red' });
    assert.equal(errors.length, 3, errors.join('\n'));
    assert.match(errors.join('\n'), /a path/);
    assert.match(errors.join('\n'), /weight must be a positive integer/);
    assert.match(errors.join('\n'), /unknown parameter "color=red"/);
  });
});

describe('formatConfigErrors', () => {
  test('lists each error on its own indented line under a one-line heading', () => {
    assert.equal(
      formatConfigErrors(['PORT="x" is not allowed', 'LOG_LEVEL="y" is not allowed']),
      'Fairway cannot start: invalid configuration\n  - PORT="x" is not allowed\n  - LOG_LEVEL="y" is not allowed',
    );
  });

  test('formats real parseConfig errors without any stack trace', () => {
    const text = formatConfigErrors(errorsOf({ PORT: 'abc', ALGORITHM: 'nope' }));
    assert.equal(text.split('\n').length, 3);
    assert.ok(!/\bat .*:\d+:\d+/.test(text), text);
    assert.ok(!text.includes('Error'), text);
  });
});

describe('parseConfig forwarding settings', () => {
  test('TRUST_PROXY and PRESERVE_HOST accept true/false words and reject anything else by name', () => {
    assert.equal(configOf({ TRUST_PROXY: 'true' }).trustProxy, true);
    assert.equal(configOf({ TRUST_PROXY: '0' }).trustProxy, false);
    assert.equal(configOf({ PRESERVE_HOST: 'yes' }).preserveHost, true);
    const result = parseConfig({ TRUST_PROXY: 'maybe', PRESERVE_HOST: '2' });
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.ok(result.errors.some((e) => e.includes('TRUST_PROXY') && e.includes('"maybe"')));
      assert.ok(result.errors.some((e) => e.includes('PRESERVE_HOST') && e.includes('"2"')));
    }
  });

  test('MAX_REQUEST_BODY_BYTES is a positive byte count, unset meaning no limit', () => {
    assert.equal(configOf({ MAX_REQUEST_BODY_BYTES: '1048576' }).maxRequestBodyBytes, 1048576);
    assert.equal(configOf({}).maxRequestBodyBytes, undefined);
    for (const bad of ['0', '-1', '1.5', '10MB']) {
      const result = parseConfig({ MAX_REQUEST_BODY_BYTES: bad });
      assert.equal(result.ok, false, bad);
      if (!result.ok) assert.match(result.errors[0] ?? '', /^MAX_REQUEST_BODY_BYTES=/);
    }
  });
});

describe('parseConfig WORKERS', () => {
  test('unset or empty is one process', () => {
    assert.equal(configOf({}).workers, 1);
    assert.equal(configOf({ WORKERS: '' }).workers, 1);
  });

  test('accepts 1 to 64 and auto', () => {
    assert.equal(configOf({ WORKERS: '1' }).workers, 1);
    assert.equal(configOf({ WORKERS: '2' }).workers, 2);
    assert.equal(configOf({ WORKERS: '64' }).workers, 64);
    assert.equal(configOf({ WORKERS: 'auto' }).workers, 'auto');
  });

  test('rejects 0, more than 64, non-integers and other words, naming the variable, the value and what is allowed', () => {
    assert.equal(
      onlyError({ WORKERS: '0' }, 'WORKERS', '0'),
      'WORKERS="0" is not allowed; use a positive integer up to 64, or auto for one per CPU',
    );
    for (const value of ['65', '1000', '-1', '1.5', '2x', ' 2', '0x2', 'AUTO', 'max', 'true']) {
      assert.match(onlyError({ WORKERS: value }, 'WORKERS', value), /use a positive integer up to 64, or auto/);
    }
  });

  test('is reported after the other variables when several are wrong', () => {
    const errors = errorsOf({ PORT: 'x', WORKERS: 'many' });
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.ok(errors[0]?.startsWith('PORT='));
    assert.ok(errors[1]?.startsWith('WORKERS='));
  });
});

describe('parseConfig ACCESS_LOG and the admin settings', () => {
  const TOKEN = '0123456789abcdef0123';

  test('ACCESS_LOG is off, json or combined', () => {
    for (const mode of ['off', 'json', 'combined']) assert.equal(configOf({ ACCESS_LOG: mode }).accessLog, mode);
    onlyError({ ACCESS_LOG: 'common' }, 'ACCESS_LOG', 'common');
  });

  test('ADMIN_TOKEN, ADMIN_PORT and ADMIN_HOST are taken as given', () => {
    const config = configOf({ ADMIN_TOKEN: TOKEN, ADMIN_PORT: '9090', ADMIN_HOST: '::1' });
    assert.deepEqual([config.adminToken, config.adminPort, config.adminHost], [TOKEN, 9090, '::1']);
  });

  test('a short or spaced ADMIN_TOKEN is refused, and the message never shows the token', () => {
    for (const token of ['short-secret', 'has a space in the middle!']) {
      const errors = errorsOf({ ADMIN_TOKEN: token });
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /^ADMIN_TOKEN \(value not shown\) is not allowed: it has \d+ characters.*at least 16 visible ASCII characters/);
      assert.ok(!errors[0]!.includes(token), errors[0]!);
    }
  });

  test('ADMIN_PORT must differ from PORT, and is reported with other problems at once', () => {
    assert.deepEqual(errorsOf({ PORT: '8080', ADMIN_PORT: '8080', LOG_LEVEL: 'loud' }), [
      'LOG_LEVEL="loud" is not allowed; use one of: debug, info, warn, error',
      'ADMIN_PORT="8080" is not allowed; it must differ from PORT (8080), or be unset to serve /lb/* on PORT',
    ]);
    assert.equal(configOf({ PORT: '0', ADMIN_PORT: '0' }).adminPort, 0, 'two free ports picked by the system never collide');
    onlyError({ ADMIN_PORT: '70000' }, 'ADMIN_PORT', '70000');
    onlyError({ ADMIN_HOST: 'http://127.0.0.1' }, 'ADMIN_HOST', 'http://127.0.0.1');
  });
});

describe('parseConfig resilience settings', () => {
  const resilience = (env: Env) => configOf(env).resilience;

  test('the documented defaults: rise 2, fall 3, eject after 5 for 30 s up to 300 s and 10%, 2 retries within 20%, 64 KiB buffer, 8 s shutdown', () => {
    assert.deepEqual(resilience({}), {
      healthCheckRise: 2,
      healthCheckFall: 3,
      healthCheckExpect: undefined,
      outlierConsecutiveFailures: 5,
      outlierBaseEjectionMs: 30_000,
      outlierMaxEjectionMs: 300_000,
      outlierMaxEjectionPercent: 10,
      outlierCount5xx: false,
      retries: 2,
      retryOnStatus: [],
      retryDeadlineMs: 15_000,
      retryBudgetPercent: 20,
      retryBufferBytes: 65_536,
      upstreamConnectTimeoutMs: 5_000,
      slowStartMs: 0,
      panicThresholdPercent: 0,
      maxRequestsPerServer: undefined,
      queueTimeoutMs: 1_000,
      queueMaxLength: 1_024,
      shutdownDelayMs: 0,
      shutdownTimeoutMs: 8_000,
    });
  });

  test('status lists take single statuses and ranges, comma-separated, with spaces allowed', () => {
    assert.deepEqual(resilience({ HEALTH_CHECK_EXPECT: '200-399' }).healthCheckExpect, [{ from: 200, to: 399 }]);
    assert.deepEqual(resilience({ RETRY_ON_STATUS: '502, 503,504' }).retryOnStatus, [
      { from: 502, to: 502 },
      { from: 503, to: 503 },
      { from: 504, to: 504 },
    ]);
    assert.deepEqual(resilience({ RETRY_ON_STATUS: '429,500-599' }).retryOnStatus, [{ from: 429, to: 429 }, { from: 500, to: 599 }]);
  });

  test('0 means off or no limit where documented, and MAX_REQUESTS_PER_SERVER=0 means no cap', () => {
    const r = resilience({
      SLOW_START_MS: '0',
      RETRY_DEADLINE_MS: '0',
      UPSTREAM_CONNECT_TIMEOUT_MS: '0',
      MAX_REQUESTS_PER_SERVER: '0',
      OUTLIER_CONSECUTIVE_FAILURES: '0',
    });
    assert.deepEqual([r.slowStartMs, r.retryDeadlineMs, r.upstreamConnectTimeoutMs, r.maxRequestsPerServer, r.outlierConsecutiveFailures], [
      0,
      0,
      0,
      undefined,
      0,
    ]);
    assert.equal(resilience({ MAX_REQUESTS_PER_SERVER: '100', SLOW_START_MS: '10000', OUTLIER_COUNT_5XX: 'true' }).maxRequestsPerServer, 100);
  });

  test('each bad value is named with the variable, the value and what is allowed, all reported at once', () => {
    const errors = errorsOf({
      HEALTH_CHECK_RISE: '0',
      HEALTH_CHECK_EXPECT: '200-99',
      RETRY_ON_STATUS: '200',
      RETRIES: 'two',
      RETRY_BUDGET_PERCENT: '150',
      SHUTDOWN_TIMEOUT_MS: '0',
      SLOW_START_MS: '-1',
      OUTLIER_COUNT_5XX: 'maybe',
    });
    assert.equal(errors.length, 8, errors.join('\n'));
    const find = (name: string) => errors.find((e) => e.startsWith(`${name}=`)) ?? assert.fail(`no error for ${name}:\n${errors.join('\n')}`);
    assert.match(find('HEALTH_CHECK_RISE'), /"0" is not allowed; use a whole number of probes from 1 to 100/);
    assert.match(find('HEALTH_CHECK_EXPECT'), /"200-99" is not allowed \(.*"200-99" is not a status from 100 to 599/);
    assert.match(find('RETRY_ON_STATUS'), /"200" is not allowed \(200 is outside 400-599\)/);
    assert.match(find('RETRIES'), /"two" is not allowed; use a whole number of retries from 0 to 10/);
    assert.match(find('RETRY_BUDGET_PERCENT'), /from 0 to 100/);
    assert.match(find('SHUTDOWN_TIMEOUT_MS'), /positive integer number of milliseconds/);
    assert.match(find('SLOW_START_MS'), /from 0 \(off\)/);
    assert.match(find('OUTLIER_COUNT_5XX'), /use true or false/);
  });

  test('a range that ends before it starts is refused', () => {
    assert.match(onlyError({ HEALTH_CHECK_EXPECT: '399-200' }, 'HEALTH_CHECK_EXPECT', '399-200'), /ends before it starts/);
  });
});

describe('resilience settings reach each module', () => {
  test('health, outlier, retry and queue options carry the parsed values', () => {
    const config = configOf({
      HEALTH_CHECK_RISE: '4',
      HEALTH_CHECK_FALL: '6',
      HEALTH_CHECK_EXPECT: '200',
      OUTLIER_CONSECUTIVE_FAILURES: '7',
      OUTLIER_COUNT_5XX: 'true',
      RETRIES: '1',
      RETRY_ON_STATUS: '503',
      MAX_REQUESTS_PER_SERVER: '9',
      QUEUE_TIMEOUT_MS: '250',
    });
    assert.deepEqual(healthCheckOptions(config), { path: '/health', intervalMs: 5000, timeoutMs: 2000, rise: 4, fall: 6, expect: [{ from: 200, to: 200 }] });
    assert.deepEqual(outlierOptions(config), {
      consecutiveFailures: 7,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      maxEjectionPercent: 10,
      count5xx: true,
    });
    assert.deepEqual(retryOptions(config), { retries: 1, retryOnStatus: [{ from: 503, to: 503 }], deadlineMs: 15_000, budgetPercent: 20 });
    assert.deepEqual(admissionQueueOptions(config), { maxRequestsPerServer: 9, timeoutMs: 250, maxLength: 1024 });
  });

  test('OUTLIER_CONSECUTIVE_FAILURES=0 means no detector', () => {
    assert.equal(outlierOptions(configOf({ OUTLIER_CONSECUTIVE_FAILURES: '0' })), undefined);
  });
});

describe('RESPONSE_BUFFER_BYTES', () => {
  test('is a whole number of bytes up to 16 MiB; 0 turns response buffering off', () => {
    assert.equal(configOf({ RESPONSE_BUFFER_BYTES: '0' }).responseBufferBytes, 0);
    assert.equal(configOf({ RESPONSE_BUFFER_BYTES: '8192' }).responseBufferBytes, 8192);
    for (const bad of ['-1', '64k', '16777217']) {
      const result = parseConfig({ RESPONSE_BUFFER_BYTES: bad });
      assert.equal(result.ok, false, bad);
      if (!result.ok) assert.match(result.errors.join('\n'), /RESPONSE_BUFFER_BYTES=.* is not allowed; use a whole number of bytes/);
    }
  });
});
