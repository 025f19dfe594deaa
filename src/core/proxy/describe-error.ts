/** Turns a thrown value into a short reason for logs and error bodies. */

/** A short reason for logs: the system error code when there is one (ECONNREFUSED), else the message. */
export function describeError(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message : String(error);
}
