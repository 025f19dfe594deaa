// Peer: a minimal round-robin proxy on http-proxy (node-http-proxy) with a keep-alive agent.
import http from 'node:http';
import httpProxy from 'http-proxy';
import { announce, exitOnSignals, keepAliveAgent, readEnv, roundRobin } from './common.mjs';

const { backends, host, port } = readEnv();
const next = roundRobin(backends);
const proxy = httpProxy.createProxyServer({ agent: keepAliveAgent() });
proxy.on('error', (_err, _req, res) => {
  if (res && 'writeHead' in res && !res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
  res?.end?.();
});
const server = http.createServer((req, res) => proxy.web(req, res, { target: next() }));
server.keepAliveTimeout = 60_000;
server.listen(port, host, () => announce('http-proxy', server.address().port));
exitOnSignals(() => server.close());
