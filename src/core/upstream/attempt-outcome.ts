/**
 * How one attempt to forward a request to one server ended, as the lifecycle classifies it. Outlier detection and the
 * retry policy both read this one classification, so "whose fault was it" is decided once (issue 8, defect 1).
 */

/** Why an attempt got no response head. */
export type AttemptFailure =
  /** The server refused the connection: the request certainly never reached it. */
  | 'connect_refused'
  /** No connection within UPSTREAM_CONNECT_TIMEOUT_MS (a dropped SYN): the request never reached the server. */
  | 'connect_timeout'
  /** The connection was reset or closed after (part of) the request was written and before the response head. */
  | 'reset'
  /** The request was fully sent and no response head came within UPSTREAM_TIMEOUT_MS. */
  | 'upstream_timeout'
  /** Fairway could not send it (its own client refused the request, a local error): nothing reached the server. */
  | 'not_sent'
  /** The client caused it: it went away, sent an invalid request, stalled its upload or exceeded a body limit. */
  | 'client_fault';

export type AttemptOutcome =
  /** The server sent a response head with this status. */
  | { readonly kind: 'response'; readonly status: number }
  | { readonly kind: 'failure'; readonly failure: AttemptFailure };

/** What an attempt says about the server: its fault, a success, or nothing (Fairway or the client caused it). */
export type ServerVerdict = 'fault' | 'success' | 'not_counted';

/**
 * Only the server's own failures count against it: connect errors, resets, timeouts of fully sent requests and,
 * when `count5xx` is on (OUTLIER_COUNT_5XX), 5xx answers. Requests never sent and client faults say nothing about it.
 */
export function serverVerdict(outcome: AttemptOutcome, count5xx: boolean): ServerVerdict {
  if (outcome.kind === 'response') return count5xx && outcome.status >= 500 ? 'fault' : 'success';
  switch (outcome.failure) {
    case 'connect_refused':
    case 'connect_timeout':
    case 'reset':
    case 'upstream_timeout':
      return 'fault';
    case 'not_sent':
    case 'client_fault':
      return 'not_counted';
  }
}

/** Short words for logs and error bodies. */
export const describeOutcome = (outcome: AttemptOutcome): string =>
  outcome.kind === 'response' ? `status ${outcome.status}` : outcome.failure.replaceAll('_', ' ');
