/** Shared by the ceiling proxies: the same env vars and listening line as Fairway, and the hop-by-hop rule. */

export function readEnv(env) {
  const backends = (env.BACKEND_SERVERS ?? '').split(',').map((s) => s.trim().replace(/\/$/, '')).filter(Boolean);
  if (backends.length === 0) throw new Error('BACKEND_SERVERS is required (comma-separated origins)');
  return { backends, host: env.HOST ?? '127.0.0.1', port: Number(env.PORT ?? 8080) };
}

/** Round-robin over the list, the same policy as Fairway's round_robin with equal weights. */
export function roundRobin(list) {
  let next = 0;
  return () => {
    const item = list[next];
    next = (next + 1) % list.length;
    return item;
  };
}

/** Connection-level fields (RFC 9110 §7.6.1) that a proxy must not forward; the least any proxy does. */
export const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

export const listeningLine = (name, port) => JSON.stringify({ properties: { event: 'listening', ceiling: name, port } });
