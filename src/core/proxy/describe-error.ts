/** Turns a thrown value into a short reason for logs and error bodies. */

/** A short reason for logs: the system error code when there is one (ECONNREFUSED), else the message. */
export function describeError(error: unknown): string {
  const certificate = certificateProblem(error);
  if (certificate !== undefined) return certificate;
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return messageOf(error);
}

/** A thrown value's own message; a Symbol (a stop reason) by its description, never `Symbol(...)`. */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'symbol') return error.description ?? 'unknown reason';
  return String(error);
}

/**
 * Every message down the `cause` chain, for logs only: Deno's and undici's fetch throw "fetch failed" for
 * everything and keep the reason (a refused connection, a certificate error) in `cause`. Error bodies never
 * carry this: it names internal addresses.
 */
export function describeErrorChain(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e !== undefined && e !== null; depth++) {
    const message = messageOf(e);
    const code = typeof e === 'object' ? (e as { code?: unknown }).code : undefined;
    const part = typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
    if (part !== '' && parts.at(-1) !== part) parts.push(part);
    e = typeof e === 'object' ? (e as { cause?: unknown }).cause : undefined;
  }
  return parts.join(': ');
}

/** OpenSSL's verification codes (Node, Bun) and rustls's "invalid peer certificate: UnknownIssuer" (Deno). */
const CERTIFICATE_CODE = /^(UNABLE_TO_\w+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_\w+|ERR_TLS_CERT_ALTNAME_INVALID)$/;
const RUSTLS_CERTIFICATE = /invalid peer certificate: (\w+)/;

/**
 * An https:// server whose certificate was refused, found anywhere down the `cause` chain (every fetch hides it
 * behind "fetch failed"), said so plainly, with the way out. Undefined for any other error.
 */
export function certificateProblem(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    const found = typeof code === 'string' && CERTIFICATE_CODE.test(code) ? code : RUSTLS_CERTIFICATE.exec(messageOf(e))?.[1];
    if (found !== undefined) return `TLS certificate of the server not accepted (${found}); if it comes from a private CA, set UPSTREAM_CA_FILE`;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
