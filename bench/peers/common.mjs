// Shared by the peer proxies: reads the same env vars as Fairway and prints the same listening line.
import http from 'node:http';

export function readEnv() {
  const raw = process.env.BACKEND_SERVERS ?? '';
  const backends = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (backends.length === 0) {
    console.error('BACKEND_SERVERS is required (comma-separated origins)');
    process.exit(1);
  }
  return { backends, host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 8080) };
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

/** A keep-alive agent with no socket cap, like undici's default pool. */
export const keepAliveAgent = () => new http.Agent({ keepAlive: true, maxFreeSockets: 1024 });

export function announce(name, port) {
  console.log(JSON.stringify({ properties: { event: 'listening', peer: name, port } }));
}

export function exitOnSignals(close) {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      close?.();
      process.exit(0);
    });
  }
}
