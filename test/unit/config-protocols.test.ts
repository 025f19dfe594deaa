/** parseConfig for the protocol settings: WebSocket limits, TLS to clients, HTTPS to servers. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/core/config/config.ts';
import type { Config } from '../../src/core/config/config-types.ts';

type Env = Record<string, string | undefined>;
const MIB = 1024 * 1024;

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

describe('WebSocket settings', () => {
  test('defaults: 32 MiB buffered, 16 MiB per message, no idle limit', () => {
    assert.deepEqual(configOf({}).websocket, { maxBufferedBytes: 32 * MIB, maxMessageBytes: 16 * MIB, idleTimeoutMs: 0 });
  });

  test('values are read as whole numbers; WEBSOCKET_IDLE_TIMEOUT_MS=0 means no limit', () => {
    const config = configOf({ WEBSOCKET_MAX_BUFFERED_BYTES: '2000', MAX_WEBSOCKET_MESSAGE_BYTES: '1000', WEBSOCKET_IDLE_TIMEOUT_MS: '30000' });
    assert.deepEqual(config.websocket, { maxBufferedBytes: 2000, maxMessageBytes: 1000, idleTimeoutMs: 30000 });
    assert.equal(configOf({ WEBSOCKET_IDLE_TIMEOUT_MS: '0' }).websocket.idleTimeoutMs, 0);
  });

  test('bad values name the variable and the value', () => {
    const errors = errorsOf({ WEBSOCKET_MAX_BUFFERED_BYTES: '0', MAX_WEBSOCKET_MESSAGE_BYTES: '1e6', WEBSOCKET_IDLE_TIMEOUT_MS: '-1' });
    assert.equal(errors.length, 3);
    assert.match(errors[0] ?? '', /^WEBSOCKET_MAX_BUFFERED_BYTES="0" is not allowed/);
    assert.match(errors[1] ?? '', /^MAX_WEBSOCKET_MESSAGE_BYTES="1e6" is not allowed/);
    assert.match(errors[2] ?? '', /^WEBSOCKET_IDLE_TIMEOUT_MS="-1" is not allowed; use 0 \(no limit\) or a positive integer/);
  });

  test('a buffer limit smaller than the message limit is refused, since one message would close its tunnel', () => {
    const errors = errorsOf({ WEBSOCKET_MAX_BUFFERED_BYTES: '1000', MAX_WEBSOCKET_MESSAGE_BYTES: '2000' });
    assert.deepEqual(errors.length, 1);
    assert.match(errors[0] ?? '', /WEBSOCKET_MAX_BUFFERED_BYTES=1000 is smaller than MAX_WEBSOCKET_MESSAGE_BYTES=2000/);
  });
});

describe('TLS settings', () => {
  test('TLS_CERT_FILE and TLS_KEY_FILE together serve HTTPS; unset means plain HTTP', () => {
    assert.equal(configOf({}).tls, undefined);
    assert.deepEqual(configOf({ TLS_CERT_FILE: '/etc/fairway/chain.pem', TLS_KEY_FILE: '/etc/fairway/key.pem' }).tls, {
      certFile: '/etc/fairway/chain.pem',
      keyFile: '/etc/fairway/key.pem',
    });
  });

  test('one of the pair alone is refused, naming the missing one', () => {
    assert.deepEqual(errorsOf({ TLS_CERT_FILE: 'chain.pem' }), [
      'TLS_CERT_FILE is set but TLS_KEY_FILE is not; set both to serve HTTPS, or neither for plain HTTP',
    ]);
    assert.match(errorsOf({ TLS_KEY_FILE: 'key.pem' })[0] ?? '', /^TLS_KEY_FILE is set but TLS_CERT_FILE is not/);
  });

  test('a path with spaces around it is refused rather than looked up as written', () => {
    assert.match(errorsOf({ TLS_CERT_FILE: ' chain.pem', TLS_KEY_FILE: 'key.pem' })[0] ?? '', /TLS_CERT_FILE=" chain.pem" is not allowed/);
  });

  test('HTTP_REDIRECT_PORT needs TLS and a port of its own', () => {
    const tls = { TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: 'k.pem' };
    assert.equal(configOf({ ...tls, PORT: '8443', HTTP_REDIRECT_PORT: '8080' }).httpRedirectPort, 8080);
    assert.match(errorsOf({ HTTP_REDIRECT_PORT: '8080', PORT: '8443' })[0] ?? '', /HTTP_REDIRECT_PORT=8080 redirects to HTTPS, which needs TLS_CERT_FILE/);
    assert.match(errorsOf({ ...tls, HTTP_REDIRECT_PORT: '8443', PORT: '8443' })[0] ?? '', /HTTP_REDIRECT_PORT=8443 is the same as PORT/);
    assert.equal(configOf({ ...tls, HTTP_REDIRECT_PORT: '0', PORT: '0' }).httpRedirectPort, 0, 'two free ports picked at start differ');
  });

  test('cross-setting problems are reported together with problems in other variables', () => {
    const errors = errorsOf({ ALGORITHM: 'fastest', TLS_CERT_FILE: 'c.pem' });
    assert.equal(errors.length, 2);
  });
});

describe('HTTPS to servers', () => {
  test('UPSTREAM_CA_FILE and UPSTREAM_TLS_INSECURE (off by default)', () => {
    assert.deepEqual(configOf({}).upstreamTls, { caFile: undefined, insecure: false });
    assert.deepEqual(configOf({ UPSTREAM_CA_FILE: 'ca.pem', UPSTREAM_TLS_INSECURE: 'true' }).upstreamTls, { caFile: 'ca.pem', insecure: true });
    assert.match(errorsOf({ UPSTREAM_TLS_INSECURE: 'maybe' })[0] ?? '', /UPSTREAM_TLS_INSECURE="maybe" is not allowed/);
  });
});
