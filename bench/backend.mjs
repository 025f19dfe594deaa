// Minimal origin server for the benchmark: the fallback when nginx is missing, and the 10 ms "slow" backend.
// Usage: node bench/backend.mjs <port>[,<port>...]
// Paths: /small (SMALL_BYTES fixed body), /large (1 MiB), /slow (small body after 10 ms), /post (reads the body, answers small),
// /health (ok). Prints {"properties":{"event":"listening","port":N}} per port, like Fairway's listening line.
import http from 'node:http';

const SMALL = Buffer.alloc(Number(process.env.SMALL_BYTES ?? 128), 'a');
const LARGE = Buffer.alloc(1024 * 1024, 'b');
const SLOW_MS = Number(process.env.SLOW_MS ?? 10);

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}

function handler(req, res) {
  const path = req.url.split('?', 1)[0];
  // Drain any request body before answering, so keep-alive connections stay usable.
  req.resume();
  req.once('end', () => {
    if (path === '/small' || path === '/post') send(res, 200, SMALL);
    else if (path === '/large') send(res, 200, LARGE);
    else if (path === '/slow') setTimeout(send, SLOW_MS, res, 200, SMALL);
    else if (path === '/health') send(res, 200, Buffer.from('ok'));
    else send(res, 404, Buffer.from('not found'));
  });
}

const ports = (process.argv[2] ?? '0').split(',').map(Number);
for (const port of ports) {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  server.listen(port, '127.0.0.1', () => {
    console.log(JSON.stringify({ properties: { event: 'listening', port: server.address().port } }));
  });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0));
