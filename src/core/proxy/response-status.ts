/** Which upstream response statuses may be relayed to the client; anything else is the server's fault and gets 502. */

/**
 * The reason a final status from the server cannot be relayed, or undefined when it can. RFC 9110 §15 defines
 * status codes as three digits from 100 to 599; anything else (999, 0, 1000) is not HTTP, so nginx and
 * Fairway answer 502 instead. 1xx responses are interim (RFC 9110 §15.2): the upstream client must have
 * consumed them (undici and fetch do, except 101), so one arriving here as final is not relayable either.
 */
export function unrelayableStatus(status: number): string | undefined {
  if (!Number.isInteger(status) || status < 100 || status > 599) return `the server answered with status ${status}, which is outside 100 to 599`;
  if (status < 200) return `the server answered with interim status ${status} as its final response`;
  return undefined;
}
