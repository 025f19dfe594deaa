/** Host header validation (RFC 9110 §7.2, RFC 3986 host[:port], RFC 9112 §3.2): what gets a 400 before anything is forwarded. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHost, hostLines, invalidHostReason } from '../../src/core/proxy/host.ts';

describe('invalidHostReason', () => {
  test('valid hosts: names, IPv4, IPv6 literals, IPvFuture, ports, an empty port, percent-encoding and sub-delims', () => {
    for (
      const value of [
        'example.com',
        'example.com:8080',
        'EXAMPLE.com',
        'localhost',
        '127.0.0.1',
        '127.0.0.1:80',
        '[::1]',
        '[::1]:8080',
        '[2001:db8::7]:443',
        '[::ffff:192.0.2.1]',
        '[v1.fe80::a+en1]',
        'example.com:',
        'xn--caf-dma.example',
        'a%2Db.example',
        "a!$&'()*+,;=b",
        'under_score.example',
        'example.com.',
        'h:0',
        'h:65535',
      ]
    ) {
      assert.equal(invalidHostReason(value), undefined, value);
    }
  });

  test('the probes from issue 8 and other invalid values each get a reason', () => {
    for (
      const value of [
        'x/admin/secret?',
        'a@b',
        'user:pw@example.com',
        '',
        ' ',
        'exa mple.com',
        'example.com:8080:1',
        'example.com:http',
        'example.com:-1',
        'example.com:65536',
        'example.com:123456',
        ':8080',
        '[::1',
        '[::1]x',
        '[::1]:x',
        '[not-ipv6]',
        '[::g]',
        '::1',
        'a\\b',
        'a#b',
        'a?b',
        'a%zz',
        'a%',
        'example.com\r\nX: y',
        'caf\u00e9.example',
        'a, b',
        'a"b',
        'a<b>',
      ]
    ) {
      const reason = invalidHostReason(value);
      assert.equal(typeof reason, 'string', JSON.stringify(value));
      assert.match(reason!, /Host header/, JSON.stringify(value));
    }
  });
});

describe('checkHost', () => {
  test('one valid Host passes, trimmed of optional whitespace', () => {
    assert.deepEqual(checkHost(['example.com:8080'], '1.1'), { ok: true, host: 'example.com:8080' });
    assert.deepEqual(checkHost([' example.com\t'], '1.1'), { ok: true, host: 'example.com' });
  });

  test('two Host headers are invalid, even when equal (RFC 9112 §3.2)', () => {
    const result = checkHost(['a.example', 'a.example'], '1.1');
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.reason : '', /more than one Host/);
  });

  test('a missing Host is invalid on HTTP/1.1, allowed on HTTP/1.0 and when the runtime does not say', () => {
    assert.equal(checkHost([], '1.1').ok, false);
    assert.deepEqual(checkHost([], '1.0'), { ok: true, host: undefined });
    assert.deepEqual(checkHost([]), { ok: true, host: undefined });
  });

  test('an empty Host is invalid (RFC 9110 §4.2.1: an http URI never has an empty host; nginx answers 400 too)', () => {
    assert.equal(checkHost([''], '1.1').ok, false);
    assert.equal(checkHost(['  '], '1.0').ok, false);
  });

  test('two Host lines joined by a runtime into one value are invalid too', () => {
    assert.equal(checkHost(['a.example, b.example']).ok, false);
  });
});

describe('hostLines', () => {
  test('collects every Host line from node:http rawHeaders, whatever its case', () => {
    assert.deepEqual(hostLines(['Host', 'a', 'X-Host', 'x', 'HOST', 'b', 'Accept', '*/*']), ['a', 'b']);
    assert.deepEqual(hostLines(['Accept', '*/*']), []);
    assert.deepEqual(hostLines(['hOsT', 'c', 'Hosu', 'd', 'Gost', 'e', 'hos', 'f']), ['c'], 'only the four letters h, o, s, t');
  });
});
