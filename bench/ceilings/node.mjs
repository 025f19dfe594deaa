/**
 * Ceiling for Node: the least a proxy on Fairway's own APIs can do. node:http in, undici `Agent.stream` out
 * (the agent configured as Fairway's), the response head and body written straight into the ServerResponse.
 */
import http from 'node:http';
import { Agent } from 'undici';
import { HOP_BY_HOP, listeningLine, readEnv, roundRobin } from './common.mjs';

const { backends, host, port } = readEnv(process.env);
const next = roundRobin(backends);
const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 4_000 });

function withoutHopByHop(source) {
  const out = {};
  for (const name in source) if (!HOP_BY_HOP.includes(name)) out[name] = source[name];
  return out;
}

const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 60_000 }, (req, res) => {
  const headers = withoutHopByHop(req.headers);
  delete headers.host;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  agent
    .stream({ origin: next(), path: req.url, method: req.method, headers, body: hasBody ? req : null }, ({ statusCode, headers: upstream }) => {
      res.writeHead(statusCode, withoutHopByHop(upstream));
      return res;
    })
    .catch(() => {
      if (!res.headersSent) res.writeHead(502).end('bad gateway');
      else res.destroy();
    });
});
server.listen(port, host, () => console.log(listeningLine('node', server.address().port)));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeIdleConnections();
    process.exit(0);
  });
}
