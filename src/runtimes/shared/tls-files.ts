/**
 * Reads and checks the PEM files behind TLS_CERT_FILE, TLS_KEY_FILE and UPSTREAM_CA_FILE, with messages that
 * name the variable and the file. It lives beside the runtimes, not in src/core: it reads files and parses
 * X.509, which Web standards cannot do. `node:fs` and `node:crypto`'s X509Certificate and createPrivateKey
 * behave the same on Node, Deno and Bun (checked on each), so all three entrypoints share this one module.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type TlsFilesResult<T> = ({ ok: true; warnings: string[] } & T) | { ok: false; errors: string[] };

export interface ServerTls {
  /** The chain as read, leaf first, for the runtime's server (`cert`). */
  readonly cert: string;
  readonly key: string;
  /** The leaf's subject and expiry, for the start-up log. */
  readonly leaf: { readonly subject: string; readonly validTo: Date };
}

export interface UpstreamCa {
  /** Every certificate in the file, PEM, for the runtime's client. */
  readonly certificates: string[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
const oneLine = (name: string): string => name.replace(/\n/g, ', ');
const day = (date: Date): string => date.toISOString().slice(0, 10);

/** Node 20 has no `validToDate`; its `validTo` string ("Dec  3 15:12:34 2026 GMT") parses the same in V8 and JavaScriptCore. */
const validTo = (certificate: X509Certificate): Date => (certificate as X509Certificate & { validToDate?: Date }).validToDate ?? new Date(certificate.validTo);
const validFrom = (certificate: X509Certificate): Date =>
  (certificate as X509Certificate & { validFromDate?: Date }).validFromDate ?? new Date(certificate.validFrom);

function readText(variable: string, file: string, errors: string[]): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : firstLine(error);
    errors.push(`${variable}=${JSON.stringify(file)} cannot be read: ${why}`);
    return undefined;
  }
}

/** Every certificate in a PEM file, or undefined after reporting why not. */
function readCertificates(variable: string, file: string, errors: string[]): { pems: string[]; certificates: X509Certificate[] } | undefined {
  const text = readText(variable, file, errors);
  if (text === undefined) return undefined;
  const pems = text.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) {
    const hint = text.includes('PRIVATE KEY') ? ' (it holds a private key: are the certificate and key files swapped?)' : '';
    errors.push(`${variable}=${JSON.stringify(file)} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")${hint}`);
    return undefined;
  }
  const certificates: X509Certificate[] = [];
  for (const [index, pem] of pems.entries()) {
    try {
      certificates.push(new X509Certificate(pem));
    } catch (error) {
      errors.push(`${variable}=${JSON.stringify(file)}: certificate ${index + 1} of ${pems.length} cannot be parsed (${firstLine(error)})`);
      return undefined;
    }
  }
  return { pems, certificates };
}

/** Warnings for certificates outside their validity period: clients refuse them, but starting lets a renewal be deployed. */
function validityWarnings(variable: string, file: string, certificates: readonly X509Certificate[], now: Date): string[] {
  const warnings: string[] = [];
  for (const [index, certificate] of certificates.entries()) {
    const which = certificates.length === 1 ? 'the certificate' : `certificate ${index + 1} of ${certificates.length}`;
    const subject = oneLine(certificate.subject);
    if (validTo(certificate) < now) {
      warnings.push(`${variable}=${JSON.stringify(file)}: ${which} (${subject}) expired on ${day(validTo(certificate))}; clients will refuse it`);
    } else if (validFrom(certificate) > now) {
      warnings.push(`${variable}=${JSON.stringify(file)}: ${which} (${subject}) is not valid before ${day(validFrom(certificate))}`);
    }
  }
  return warnings;
}

/** TLS_CERT_FILE and TLS_KEY_FILE: the chain parses, the key matches its first certificate, the chain is in order. */
export function loadServerTls(files: { readonly certFile: string; readonly keyFile: string }, now: Date = new Date()): TlsFilesResult<ServerTls> {
  const errors: string[] = [];
  const chain = readCertificates('TLS_CERT_FILE', files.certFile, errors);
  const keyText = readText('TLS_KEY_FILE', files.keyFile, errors);
  let key: KeyObject | undefined;
  if (keyText !== undefined) {
    try {
      key = createPrivateKey(keyText);
    } catch (error) {
      const hint = keyText.includes('BEGIN CERTIFICATE')
        ? ' (it holds a certificate: are the certificate and key files swapped?)'
        : keyText.includes('ENCRYPTED')
        ? ' (it is encrypted; give an unencrypted key)'
        : '';
      errors.push(`TLS_KEY_FILE=${JSON.stringify(files.keyFile)} holds no usable PEM private key: ${firstLine(error)}${hint}`);
    }
  }
  if (chain === undefined || key === undefined) return { ok: false, errors };

  const [leaf] = chain.certificates as [X509Certificate, ...X509Certificate[]];
  if (!leaf.checkPrivateKey(key)) {
    const matching = chain.certificates.findIndex((certificate) => certificate.checkPrivateKey(key));
    const hint = matching > 0 ? `; it matches certificate ${matching + 1}: put the leaf certificate first, then its issuers` : '';
    return {
      ok: false,
      errors: [
        `TLS_KEY_FILE=${JSON.stringify(files.keyFile)} does not match the first certificate in TLS_CERT_FILE=${JSON.stringify(files.certFile)} ` +
        `(${oneLine(leaf.subject)})${hint}`,
      ],
    };
  }

  const warnings = validityWarnings('TLS_CERT_FILE', files.certFile, chain.certificates, now);
  for (let i = 0; i + 1 < chain.certificates.length; i++) {
    if (!chain.certificates[i]!.checkIssued(chain.certificates[i + 1]!)) {
      warnings.push(
        `TLS_CERT_FILE=${JSON.stringify(files.certFile)}: certificate ${i + 2} did not issue certificate ${i + 1}; ` +
          'list the leaf first, then each issuer in turn, or clients may fail to build the chain',
      );
      break;
    }
  }
  return {
    ok: true,
    warnings,
    cert: chain.pems.join('\n') + '\n',
    key: keyText!,
    leaf: { subject: oneLine(leaf.subject), validTo: validTo(leaf) },
  };
}

/** UPSTREAM_CA_FILE: one or more PEM certificates, each parsed; expired ones are a warning. */
export function loadUpstreamCa(file: string, now: Date = new Date()): TlsFilesResult<UpstreamCa> {
  const errors: string[] = [];
  const read = readCertificates('UPSTREAM_CA_FILE', file, errors);
  if (read === undefined) return { ok: false, errors };
  return { ok: true, warnings: validityWarnings('UPSTREAM_CA_FILE', file, read.certificates, now), certificates: read.pems };
}
