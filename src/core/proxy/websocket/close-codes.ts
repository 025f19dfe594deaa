/** Which WebSocket close code a relay sends on when one side closes, given what the other side's API may send. */

/**
 * Close codes an API accepts in `close(code)`:
 * - `rfc6455`: every code a close frame may carry (RFC 6455 §7.4.1, §7.4.2): 1000–1003, 1007–1014 and 3000–4999.
 *   Deno's and Bun's server sockets and Bun's WebSocket client accept these.
 * - `whatwg`: only 1000 and 3000–4999, as the WHATWG `WebSocket.close()` allows (Deno's WebSocket client throws
 *   InvalidAccessError for anything else, 1001 and 1011 included).
 */
export type CloseCodeRange = 'rfc6455' | 'whatwg';

/** RFC 6455 §7.4.1 and the IANA registry, under the names used here. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  /** 1005: "no status code was present"; reported locally, never sent (RFC 6455 §7.4.1). */
  noStatus: 1005,
  /** 1006: the connection dropped without a close frame; reported locally, never sent (RFC 6455 §7.4.1). */
  abnormal: 1006,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  /** 1014 (IANA registry): a gateway or proxy got an invalid response from, or lost, the upstream server. */
  badGateway: 1014,
  /** 1015: the TLS handshake failed; reported locally, never sent (RFC 6455 §7.4.1). */
  tlsHandshake: 1015,
} as const;

/** True when `code` may be passed to `close()` on an API with this range. */
export function canSendCloseCode(code: number, range: CloseCodeRange): boolean {
  if (code >= 3000 && code <= 4999) return true;
  if (range === 'whatwg') return code === CLOSE.normal;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

/** What to pass to the other side's `close()`: no code at all (an empty close frame), or a code and reason. */
export type RelayedClose = { readonly code: number | undefined; readonly reason: string };

/**
 * Maps a close one side reported to the close the relay sends the other side.
 * - 1005 (the peer sent a close frame without a code) is relayed as a close frame without a code.
 * - 1006, 1015, 0 (Deno's report of a dropped client connection) and anything else outside RFC 6455's ranges
 *   mean the connection ended abnormally; they are never sent (§7.4.1). Toward the client the relay says
 *   1014 (the upstream was lost, IANA registry), toward the server 1001 (the client went away).
 * - A valid code the other side's API cannot send (1001–1014 through a WHATWG client) becomes 1000.
 * The reason is kept, shortened to what a close frame can carry.
 */
export function relayedClose(code: number, reason: string, toward: 'client' | 'server', range: CloseCodeRange): RelayedClose {
  if (code === CLOSE.noStatus) return { code: undefined, reason: '' };
  const abnormal = !canSendCloseCode(code, 'rfc6455');
  const wanted = abnormal ? (toward === 'client' ? CLOSE.badGateway : CLOSE.goingAway) : code;
  const text = abnormal && reason === '' ? (toward === 'client' ? 'upstream connection lost' : 'client connection lost') : reason;
  return { code: canSendCloseCode(wanted, range) ? wanted : CLOSE.normal, reason: closeReason(text) };
}

/** Longest close reason, in UTF-8 bytes: a control frame carries 125 bytes, 2 of them the code (RFC 6455 §5.5, §5.5.1). */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Cuts a reason to 123 UTF-8 bytes on a character boundary, since `close()` throws SyntaxError beyond that. */
export function closeReason(text: string): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return text;
  let end = MAX_CLOSE_REASON_BYTES;
  // Back up over UTF-8 continuation bytes (10xxxxxx) so no character is cut in half.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}
