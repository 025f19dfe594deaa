/** Selection settings: ALGORITHM's new names, HASH_KEY, HASH_FALLBACK and the STICKY_COOKIE* family. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/core/config/config.ts';
import type { Config } from '../../src/core/config/config-types.ts';
import { ALGORITHM_NAMES } from '../../src/core/selection/algorithm.ts';

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

const HASHING = { ALGORITHM: 'consistent_hash' };

describe('ALGORITHM', () => {
  for (const name of ALGORITHM_NAMES) {
    test(`accepts ${name}`, () => assert.equal(configOf({ ALGORITHM: name }).algorithm, name));
  }
});

describe('HASH_KEY', () => {
  test('defaults to the client address', () => assert.deepEqual(configOf(HASHING).hashKey, { kind: 'ip' }));

  for (
    const [value, parsed] of [
      ['ip', { kind: 'ip' }],
      ['path', { kind: 'path' }],
      ['header:X-User-Id', { kind: 'header', name: 'x-user-id' }],
      ['cookie:session', { kind: 'cookie', name: 'session' }],
      ['query:user', { kind: 'query', name: 'user' }],
    ] as const
  ) {
    test(`${value} is accepted`, () => assert.deepEqual(configOf({ ...HASHING, HASH_KEY: value }).hashKey, parsed));
  }

  for (
    const [value, hint] of [
      ['host', /use ip, path, header:<name>, cookie:<name> or query:<name>/],
      ['header:', /header: must be followed by a valid header name/],
      ['header:bad name', /header: must be followed by a valid header name/],
      ['cookie:a;b', /cookie: must be followed by a valid cookie name/],
      ['query:', /query: must be followed by a valid query name/],
    ] as const
  ) {
    test(`${JSON.stringify(value)} is refused, naming the value and what is allowed`, () => {
      const errors = errorsOf({ ...HASHING, HASH_KEY: value });
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.ok(errors[0]!.startsWith(`HASH_KEY=${JSON.stringify(value)} is not allowed; `), errors[0]!);
      assert.match(errors[0]!, hint);
    });
  }
});

describe('HASH_FALLBACK', () => {
  test('defaults to round_robin', () => assert.equal(configOf(HASHING).hashFallback, 'round_robin'));
  test('accepts any algorithm that needs no key', () =>
    assert.equal(configOf({ ...HASHING, HASH_FALLBACK: 'least_connections' }).hashFallback, 'least_connections'));
  test('refuses consistent_hash itself, listing the allowed names', () => {
    assert.deepEqual(errorsOf({ ...HASHING, HASH_FALLBACK: 'consistent_hash' }), [
      'HASH_FALLBACK="consistent_hash" is not allowed; use one of: round_robin, weighted_round_robin, least_connections, least_response_time, power_of_two, peak_ewma, random',
    ]);
  });
  test('HASH_KEY and HASH_FALLBACK with another algorithm are refused rather than silently ignored', () => {
    assert.deepEqual(errorsOf({ HASH_KEY: 'path', HASH_FALLBACK: 'random' }), [
      'HASH_KEY="path" is only used with ALGORITHM=consistent_hash; remove it or set ALGORITHM=consistent_hash',
      'HASH_FALLBACK="random" is only used with ALGORITHM=consistent_hash; remove it or set ALGORITHM=consistent_hash',
    ]);
  });
});

describe('STICKY_COOKIE*', () => {
  test('unset: no sticky sessions', () => assert.equal(configOf({}).sticky, undefined));

  test('a name alone gives a session cookie, SameSite=Lax, Secure when the client came over TLS', () => {
    assert.deepEqual(configOf({ STICKY_COOKIE: 'fw_server' }).sticky, { cookieName: 'fw_server', maxAgeSeconds: undefined, sameSite: 'Lax', secure: 'auto' });
  });

  test('every attribute can be set; SameSite and Secure words are case-insensitive', () => {
    const env = { STICKY_COOKIE: 'fw', STICKY_COOKIE_MAX_AGE: '3600', STICKY_COOKIE_SAMESITE: 'strict', STICKY_COOKIE_SECURE: 'TRUE' };
    assert.deepEqual(configOf(env).sticky, { cookieName: 'fw', maxAgeSeconds: 3600, sameSite: 'Strict', secure: true });
    assert.equal(configOf({ STICKY_COOKIE: 'fw', STICKY_COOKIE_SECURE: 'auto' }).sticky?.secure, 'auto');
  });

  test('every bad value is reported at once, each naming the variable, the value and what is allowed', () => {
    const errors = errorsOf({ STICKY_COOKIE: 'a b', STICKY_COOKIE_MAX_AGE: '0', STICKY_COOKIE_SAMESITE: 'sometimes', STICKY_COOKIE_SECURE: 'maybe' });
    assert.equal(errors.length, 4, errors.join('\n'));
    assert.match(errors[0]!, /^STICKY_COOKIE="a b" is not allowed; use a cookie name/);
    assert.match(errors[1]!, /^STICKY_COOKIE_MAX_AGE="0" is not allowed; use a number of seconds from 1 to 34560000/);
    assert.match(errors[2]!, /^STICKY_COOKIE_SAMESITE="sometimes" is not allowed; use Lax, Strict or None/);
    assert.match(errors[3]!, /^STICKY_COOKIE_SECURE="maybe" is not allowed; use true, false, or auto/);
  });

  test('a Max-Age above 400 days is refused', () => {
    assert.match(errorsOf({ STICKY_COOKIE: 'fw', STICKY_COOKIE_MAX_AGE: '34560001' })[0]!, /400 days/);
  });

  test('attributes without STICKY_COOKIE are refused: they would do nothing', () => {
    assert.deepEqual(errorsOf({ STICKY_COOKIE_MAX_AGE: '60' }), [
      'STICKY_COOKIE_MAX_AGE="60" has no effect without STICKY_COOKIE; set STICKY_COOKIE=<cookie name> to turn sticky sessions on',
    ]);
  });

  test('SameSite=None or a __Secure- name with Secure turned off is refused', () => {
    assert.match(
      errorsOf({ STICKY_COOKIE: 'fw', STICKY_COOKIE_SAMESITE: 'None', STICKY_COOKIE_SECURE: 'false' })[0]!,
      /^STICKY_COOKIE_SAMESITE=None needs a Secure cookie/,
    );
    assert.match(errorsOf({ STICKY_COOKIE: '__Secure-fw', STICKY_COOKIE_SECURE: 'false' })[0]!, /__Secure- or __Host- prefix/);
  });

  test('sticky sessions combine with any algorithm', () => {
    assert.equal(configOf({ ALGORITHM: 'least_connections', STICKY_COOKIE: 'fw' }).sticky?.cookieName, 'fw');
  });
});
