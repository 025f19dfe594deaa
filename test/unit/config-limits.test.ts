/** The connection limits, VIA and REWRITE_LOCATION settings (issue 8), and the rule that a duration of 0 means no limit. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/core/config/config.ts';
import type { Config } from '../../src/core/config/config-types.ts';

function configOf(env: Record<string, string>): Config {
  const result = parseConfig(env);
  if (!result.ok) assert.fail(`expected a valid config, got errors:\n${result.errors.join('\n')}`);
  return result.config;
}

function errorsOf(env: Record<string, string>): string[] {
  const result = parseConfig(env);
  if (result.ok) assert.fail(`expected errors, got config ${JSON.stringify(result.config)}`);
  return result.errors;
}

const LIMITS = [
  ['CLIENT_HEADER_TIMEOUT_MS', 'clientHeaderTimeoutMs', 60_000],
  ['CLIENT_KEEPALIVE_TIMEOUT_MS', 'clientKeepAliveTimeoutMs', 75_000],
  ['CLIENT_BODY_TIMEOUT_MS', 'clientBodyTimeoutMs', 60_000],
  ['UPSTREAM_READ_TIMEOUT_MS', 'upstreamReadTimeoutMs', 300_000],
] as const;

describe('connection limits', () => {
  test('defaults: 60 s for a request head, 75 s idle keep-alive, 60 s between body bytes, 300 s between response bytes', () => {
    const config = configOf({});
    for (const [, key, fallback] of LIMITS) assert.equal(config[key], fallback, key);
  });

  test('each limit takes milliseconds, and 0 (no limit)', () => {
    for (const [name, key] of LIMITS) {
      assert.equal(configOf({ [name]: '1500' })[key], 1500, name);
      assert.equal(configOf({ [name]: '0' })[key], 0, name);
      assert.equal(configOf({ [name]: '' })[key], configOf({})[key], `${name}= (empty) falls back to the default`);
    }
  });

  test('bad values are all reported at once, each naming the variable, the value and the range allowed', () => {
    const errors = errorsOf(Object.fromEntries(LIMITS.map(([name]) => [name, '5s'])));
    assert.equal(errors.length, LIMITS.length, errors.join('\n'));
    LIMITS.forEach(([name], i) => {
      assert.equal(errors[i], `${name}="5s" is not allowed; use 0 (no limit) or a positive integer number of milliseconds no greater than 2147483647`);
    });
    assert.equal(errorsOf({ UPSTREAM_READ_TIMEOUT_MS: '2147483648' }).length, 1);
    assert.equal(errorsOf({ CLIENT_BODY_TIMEOUT_MS: '-1' }).length, 1);
  });
});

describe('VIA and REWRITE_LOCATION', () => {
  test('both are on by default', () => {
    const config = configOf({});
    assert.equal(config.via, true);
    assert.equal(config.rewriteLocation, true);
  });

  test('VIA=off and REWRITE_LOCATION=false turn them off; the usual boolean words work for both', () => {
    assert.equal(configOf({ VIA: 'off' }).via, false);
    assert.equal(configOf({ VIA: 'OFF' }).via, false);
    assert.equal(configOf({ VIA: 'on' }).via, true);
    assert.equal(configOf({ VIA: 'false' }).via, false);
    assert.equal(configOf({ REWRITE_LOCATION: 'false' }).rewriteLocation, false);
    assert.equal(configOf({ REWRITE_LOCATION: 'off' }).rewriteLocation, false);
  });

  test('an unknown word is reported with what is allowed', () => {
    assert.deepEqual(errorsOf({ VIA: 'none' }), ['VIA="none" is not allowed; use on or off']);
    assert.deepEqual(errorsOf({ REWRITE_LOCATION: 'maybe' }), ['REWRITE_LOCATION="maybe" is not allowed; use true or false']);
  });
});
