/**
 * Bun.serve closes the connection after answering a request that sent `Connection: close`, but without saying so
 * on the response, which RFC 9112 §9.6 asks a server to do ("SHOULD send a close connection option in its final
 * response"); clients such as wrk then report a read error after every complete response. Bun sends a
 * `Connection: close` the handler sets, so Fairway sets it on exactly those responses.
 */

/** `close` among the request's Connection options (RFC 9110 §7.6.1: a comma-separated list, case-insensitive). */
const CLOSE_OPTION = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;

export function asksToClose(request: Request): boolean {
  const connection = request.headers.get('connection');
  return connection !== null && CLOSE_OPTION.test(connection);
}

/** Says `Connection: close` on the response; one with immutable headers (Response.error()) is left as is. */
export function sayingClose(response: Response): Response {
  try {
    response.headers.set('connection', 'close');
  } catch {
    // Immutable headers: the connection still closes, only the header is missing.
  }
  return response;
}
