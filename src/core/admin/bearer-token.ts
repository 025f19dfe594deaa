/** Checks `Authorization: Bearer <token>` in constant time, without revealing even the expected token's length. */

const encoder = new TextEncoder();

const sha256 = async (text: string): Promise<Uint8Array> => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));

export type BearerCheck = 'ok' | 'missing' | 'malformed' | 'wrong';

/**
 * Both tokens are hashed with SHA-256 and the two 32-byte digests compared with no early exit: the time
 * taken depends neither on where the first differing byte is nor on the expected token's length (a plain
 * byte comparison must stop or pad at a length mismatch, which leaks the length). Hashing the presented
 * token takes time in proportion to its own length, which its sender knows anyway.
 */
export function bearerTokenChecker(expected: string): (authorization: string | undefined) => Promise<BearerCheck> {
  const expectedDigest = sha256(expected);
  return async (authorization) => {
    if (authorization === undefined || authorization === '') return 'missing';
    // RFC 9110 §11.1: the scheme is case-insensitive; RFC 6750 §2.1: one space, then the token.
    const match = /^bearer +(\S+) *$/i.exec(authorization);
    if (match === null) return 'malformed';
    const [presented, wanted] = await Promise.all([sha256(match[1]!), expectedDigest]);
    let difference = 0;
    for (let i = 0; i < wanted.length; i++) difference |= presented[i]! ^ wanted[i]!;
    return difference === 0 ? 'ok' : 'wrong';
  };
}
