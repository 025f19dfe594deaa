/** The JSON error bodies the balancer answers with itself (413, 502, 503, 504; 404 under /lb/). */

export function jsonError(status: number, error: string, requestId?: string): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return new Response(JSON.stringify(requestId === undefined ? { error } : { error, requestId }), { status, headers });
}
