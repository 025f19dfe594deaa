/**
 * The study's five servers (scenario.ts) as real node:http servers on loopback, for the live check (live.ts):
 * each serves at most `workers` requests at once (FIFO queue beyond), takes an exponential service time around
 * its mean, and the flaky one answers 5% of requests with a 500 after 2 ms. Prints `{"ports":[...]}` once
 * listening; runs until killed. Its own process, so its timers do not share an event loop with the load.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from '../../src/core/selection/seeded-random.ts';
import { LOAD, SERVERS, type SimServer } from './scenario.ts';

const startedAt = performance.now();

function serve(sim: SimServer, index: number): Promise<number> {
  const random = seededRandom(LOAD.seed + 10 + index);
  let busy = 0;
  const queue: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/health') return void res.end('ok');
    const start = () => {
      busy++;
      const failed = random() < sim.failureRate;
      const ms = failed ? 2 : -Math.log(1 - random()) * sim.meanMs(performance.now() - startedAt);
      setTimeout(() => {
        res.writeHead(failed ? 500 : 200, { 'x-backend': sim.name, 'content-type': 'text/plain' });
        res.end(failed ? 'failed' : 'ok');
        busy--;
        queue.shift()?.();
      }, ms);
    };
    if (busy < sim.workers) start();
    else queue.push(start);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const ports = await Promise.all(SERVERS.map(serve));
console.log(JSON.stringify({ ports }));
