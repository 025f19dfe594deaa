// Peer: a minimal round-robin proxy on httpxy (unjs) with a keep-alive agent.
import http from 'node:http';
import { createProxyServer } from 'httpxy';
import { announce, exitOnSignals, keepAliveAgent, readEnv, roundRobin } from './common.mjs';

const { backends, host, port } = readEnv();
const next = roundRobin(backends);
const proxy = createProxyServer({ agent: keepAliveAgent() });
proxy.on('error', () => {}); // the web() promise below answers the client
const server = http.createServer((req, res) => {
  proxy.web(req, res, { target: next() }).catch(() => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, host, () => announce('httpxy', server.address().port));
exitOnSignals(() => server.close());
