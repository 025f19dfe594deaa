/**
 * Whose fault a failed attempt was (issue 8, defect 1): reads the stop reason and the upstream client's error, on
 * every runtime's error shape, into one AttemptFailure. Only errors recognised as the network or the server failing
 * count against the server; anything else Fairway's own client threw (Bun refusing "5, 5", Deno refusing a method)
 * is `not_sent`, so no client input can eject a healthy server.
 */
import type { AttemptFailure } from '../upstream/attempt-outcome.ts';
import { BodyLengthError } from './replayable-body.ts';

/** Why an exchange was stopped on purpose; carried as its AbortSignal's reason, so a failure can be told from the server's. */
export const STOP_REASON = {
  timeout: Symbol('upstream timeout'),
  clientGone: Symbol('client gone'),
  bodyTooLarge: Symbol('request body too large'),
  /** CLIENT_BODY_TIMEOUT_MS: the client stopped sending its body (its fault, answered 408). */
  clientBodyTimeout: Symbol('client body timeout'),
  /** UPSTREAM_READ_TIMEOUT_MS: the server stopped sending its response body (the client's connection is cut). */
  readTimeout: Symbol('upstream read timeout'),
  /** The attempt was abandoned for a retry on another server, or at shutdown. */
  superseded: Symbol('attempt superseded'),
  /** SHUTDOWN_TIMEOUT_MS passed while the exchange was still open. */
  shutdown: Symbol('shutting down'),
} as const;

// Bun says "Unable to connect" for every connection that never opened, whatever its code: ECONNREFUSED, or ECONNRESET when
// a listener that is closing resets the connections still waiting in its accept queue (a server stopping for a deploy).
// Either way no byte of the request reached the server, so any method may be retried; the code alone would say "reset".
const REFUSED = /ECONNREFUSED|ConnectionRefused|connection refused|EHOSTUNREACH|ENETUNREACH|Unable to connect/i;
const CONNECT_TIMEOUT = /UND_ERR_CONNECT_TIMEOUT|ConnectTimeout|connect timeout/i;
// undici (Node), Bun and Deno (hyper) name a dropped or broken connection, or a response that cannot be parsed, these ways.
const RESET =
  /ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED|HPE_|UND_ERR_RES_|ConnectionClosed|connection reset|connection closed|other side closed|broken pipe|error reading a body|IncompleteMessage|unexpected end|invalid HTTP|InvalidHTTPResponse/i;

/** Every code and message down the `cause` chain, as one string to match against. */
function chainText(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e !== null && e !== undefined; depth++) {
    if (typeof e !== 'object') {
      parts.push(String(e));
      break;
    }
    const { code, message, name } = e as { code?: unknown; message?: unknown; name?: unknown };
    parts.push(`${String(name ?? '')} ${String(code ?? '')} ${String(message ?? '')}`);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(' | ');
}

/**
 * `stopReason` is the attempt signal's reason when it was aborted on purpose; `requestSent` says whether the whole
 * request had been handed to the server (a timeout while the client is still uploading is the client's).
 */
export function classifyFailure(error: unknown, stopReason: unknown, requestSent: boolean): AttemptFailure {
  if (stopReason === STOP_REASON.clientGone || stopReason === STOP_REASON.bodyTooLarge || stopReason === STOP_REASON.clientBodyTimeout) return 'client_fault';
  if (stopReason === STOP_REASON.superseded || stopReason === STOP_REASON.shutdown) return 'not_sent';
  if (stopReason === STOP_REASON.timeout) return requestSent ? 'upstream_timeout' : 'client_fault';
  if (error instanceof BodyLengthError) return 'client_fault';
  const text = chainText(error);
  if (REFUSED.test(text)) return 'connect_refused';
  if (CONNECT_TIMEOUT.test(text)) return 'connect_timeout';
  if (RESET.test(text)) return 'reset';
  return 'not_sent';
}

/** True for an error that names the server or the network failing (refused, timed out, reset), whoever reports it. */
export function isServerFailure(error: unknown): boolean {
  const failure = classifyFailure(error, undefined, true);
  return failure === 'connect_refused' || failure === 'connect_timeout' || failure === 'reset';
}
