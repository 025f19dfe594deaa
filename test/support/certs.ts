/**
 * Certificates made at test time with `selfsigned`, so no private key is ever committed: a private CA, leaf
 * certificates it signs for localhost and 127.0.0.1, a self-signed one, and an expired one. EC P-256 keys,
 * which generate in milliseconds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface Pem {
  readonly cert: string;
  readonly key: string;
}

const DAY_MS = 86_400_000;
const LOOPBACK_NAMES = [
  { type: 2 as const, value: 'localhost' },
  { type: 7 as const, ip: '127.0.0.1' },
  { type: 7 as const, ip: '::1' },
];

export async function makeCa(commonName = 'Fairway Test CA'): Promise<Pem> {
  const made = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: made.cert, key: made.private };
}

/** A server certificate for localhost, 127.0.0.1 and ::1, signed by `ca` (self-signed without one). */
export async function makeLeaf(options: { ca?: Pem; commonName?: string; notBefore?: Date; notAfter?: Date } = {}): Promise<Pem> {
  const notBeforeDate = options.notBefore ?? new Date(Date.now() - DAY_MS);
  const made = await generate([{ name: 'commonName', value: options.commonName ?? 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: options.notAfter ?? new Date(Date.now() + 30 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: LOOPBACK_NAMES },
    ],
    ...(options.ca ? { ca: { key: options.ca.key, cert: options.ca.cert } } : {}),
  });
  return { cert: made.cert, key: made.private };
}

/** A temporary folder for PEM files; `remove` deletes it and every key in it. */
export function pemFolder(): { write(name: string, text: string): string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'fairway-certs-'));
  return {
    write(name, text) {
      const file = path.join(dir, name);
      writeFileSync(file, text, { mode: 0o600 });
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
