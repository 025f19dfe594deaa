/** Loading TLS_CERT_FILE, TLS_KEY_FILE and UPSTREAM_CA_FILE: clear messages naming the file, on every runtime. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadServerTls, loadUpstreamCa } from '../../src/runtimes/shared/tls-files.ts';
import { makeCa, makeLeaf, type Pem, pemFolder } from '../support/certs.ts';

const DAY_MS = 86_400_000;
let folder: ReturnType<typeof pemFolder>;
let ca: Pem;
let leaf: Pem;
let other: Pem;
let expired: Pem;

before(async () => {
  folder = pemFolder();
  ca = await makeCa();
  leaf = await makeLeaf({ ca });
  other = await makeLeaf({ commonName: 'other' });
  expired = await makeLeaf({ ca, notBefore: new Date(Date.now() - 10 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) });
});
after(() => folder.remove());

describe('loadServerTls', () => {
  test('a full chain (leaf, then its CA) and the matching key load without warnings', () => {
    const cert = folder.write('chain.pem', leaf.cert + ca.cert);
    const key = folder.write('key.pem', leaf.key);
    const result = loadServerTls({ certFile: cert, keyFile: key });
    assert.equal(result.ok, true, JSON.stringify(result));
    if (!result.ok) return;
    assert.deepEqual(result.warnings, []);
    assert.equal(result.key, leaf.key);
    assert.equal(result.cert.match(/BEGIN CERTIFICATE/g)?.length, 2);
    assert.match(result.leaf.subject, /CN=localhost/);
    assert.ok(result.leaf.validTo.getTime() > Date.now());
  });

  test('an unreadable file is named with the variable, the path and why', () => {
    const key = folder.write('key-unreadable.pem', leaf.key);
    const result = loadServerTls({ certFile: '/nonexistent/chain.pem', keyFile: key });
    assert.deepEqual(result, { ok: false, errors: ['TLS_CERT_FILE="/nonexistent/chain.pem" cannot be read: no such file'] });
  });

  test('both files are checked, so both problems are reported at once', () => {
    const result = loadServerTls({ certFile: '/nonexistent/a.pem', keyFile: '/nonexistent/b.pem' });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(result.errors.map((e) => e.split('=')[0]), ['TLS_CERT_FILE', 'TLS_KEY_FILE']);
  });

  test('a key that does not match the certificate is refused, naming both files', () => {
    const cert = folder.write('leaf.pem', leaf.cert);
    const key = folder.write('other-key.pem', other.key);
    const result = loadServerTls({ certFile: cert, keyFile: key });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.errors.length, 1);
    assert.ok(
      result.errors[0]?.startsWith(`TLS_KEY_FILE=${JSON.stringify(key)} does not match the first certificate in TLS_CERT_FILE=${JSON.stringify(cert)}`),
    );
  });

  test('a chain with the leaf not first says which certificate the key matches', () => {
    const cert = folder.write('reversed.pem', ca.cert + leaf.cert);
    const key = folder.write('key2.pem', leaf.key);
    const result = loadServerTls({ certFile: cert, keyFile: key });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.match(result.errors[0] ?? '', /it matches certificate 2: put the leaf certificate first/);
  });

  test('swapped certificate and key files are pointed out', () => {
    const cert = folder.write('swapped-cert.pem', leaf.key);
    const key = folder.write('swapped-key.pem', leaf.cert);
    const result = loadServerTls({ certFile: cert, keyFile: key });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.match(result.errors[0] ?? '', /^TLS_CERT_FILE=.* holds no PEM certificate .*swapped/);
    assert.match(result.errors[1] ?? '', /^TLS_KEY_FILE=.* holds no usable PEM private key.*swapped/);
  });

  test('an expired certificate loads with a warning naming the file and the date', () => {
    const cert = folder.write('expired.pem', expired.cert);
    const key = folder.write('expired-key.pem', expired.key);
    const result = loadServerTls({ certFile: cert, keyFile: key });
    assert.equal(result.ok, true);
    if (!result.ok) return;
    assert.equal(result.warnings.length, 1);
    assert.match(
      result.warnings[0] ?? '',
      new RegExp(
        `^TLS_CERT_FILE=${
          JSON.stringify(cert).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
        }: the certificate \\(CN=localhost\\) expired on \\d{4}-\\d\\d-\\d\\d; clients will refuse it$`,
      ),
    );
  });

  test('a chain whose second certificate did not issue the first gets a warning', () => {
    const cert = folder.write('wrong-chain.pem', leaf.cert + other.cert);
    const key = folder.write('key3.pem', leaf.key);
    const result = loadServerTls({ certFile: cert, keyFile: key });
    assert.equal(result.ok, true);
    if (!result.ok) return;
    assert.match(result.warnings[0] ?? '', /certificate 2 did not issue certificate 1/);
  });
});

describe('loadUpstreamCa', () => {
  test('reads every certificate in the file', () => {
    const file = folder.write('cas.pem', ca.cert + other.cert);
    const result = loadUpstreamCa(file);
    assert.equal(result.ok, true);
    if (!result.ok) return;
    assert.equal(result.certificates.length, 2);
    assert.deepEqual(result.warnings, []);
  });

  test('a file without a certificate, or unreadable, is an error naming UPSTREAM_CA_FILE and the path', () => {
    const empty = folder.write('empty.pem', 'nothing here\n');
    assert.deepEqual(loadUpstreamCa(empty), {
      ok: false,
      errors: [`UPSTREAM_CA_FILE=${JSON.stringify(empty)} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`],
    });
    const missing = loadUpstreamCa('/nonexistent/ca.pem');
    assert.equal(missing.ok, false);
    if (missing.ok) return;
    assert.match(missing.errors[0] ?? '', /^UPSTREAM_CA_FILE="\/nonexistent\/ca.pem" cannot be read: no such file$/);
  });

  test('a corrupt certificate says which one cannot be parsed', () => {
    const file = folder.write('corrupt.pem', ca.cert + '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const result = loadUpstreamCa(file);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.match(result.errors[0] ?? '', /certificate 2 of 2 cannot be parsed/);
  });
});
