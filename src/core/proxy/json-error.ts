/** The JSON error bodies the balancer answers with itself (405, 413, 502, 503, 504; 404 under /lb/). */

/** The one shape of every error body, whichever I/O path sends it. */
export function errorBody(error: string, requestId?: string): string {
  return JSON.stringify(requestId === undefined ? { error } : { error, requestId });
}

export function jsonError(status: number, error: string, requestId?: string): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return new Response(errorBody(error, requestId), { status, headers });
}
