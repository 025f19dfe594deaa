/** The one shape of every error the balancer answers itself (405, 413, 499, 500, 502, 503, 504), on every I/O path. */
import { describeError } from './describe-error.ts';
import { logger } from '../logging.ts';

/** An error answer: its status, the text users see, and the request it belongs to. */
export interface ErrorAnswer {
  readonly status: number;
  readonly error: string;
  readonly requestId: string;
  /** Seconds for a Retry-After header (RFC 9110 §10.2.3), on a 503 from a full admission queue. */
  readonly retryAfterSeconds?: number;
}

export function errorBody(answer: ErrorAnswer): string {
  return JSON.stringify({ error: answer.error, requestId: answer.requestId });
}

/** The headers of every error answer; a native path adds its own framing (Content-Length, Connection). */
export function errorHeaders(answer: ErrorAnswer): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-request-id': answer.requestId };
  if (answer.retryAfterSeconds !== undefined) headers['retry-after'] = String(answer.retryAfterSeconds);
  return headers;
}

export function errorResponse(answer: ErrorAnswer): Response {
  return new Response(errorBody(answer), { status: answer.status, headers: errorHeaders(answer) });
}

/**
 * For a runtime's last-resort error hook (Deno's `onError`, Bun's `error`, the Node path's catch), which may
 * not know the request: logged with a request id (a fresh one if need be), so the 500 has the same shape as
 * every other answer and can be found in the log. The client never sees the stack.
 */
export function internalError(error: unknown, requestId: string = crypto.randomUUID()): ErrorAnswer {
  logger('proxy').error('Internal error: {reason}', { event: 'internal_error', reason: describeError(error), error, requestId });
  return { status: 500, error: 'internal error', requestId };
}
