/**
 * HTTPS to servers with a private CA (UPSTREAM_CA_FILE) and the insecure flag, through the client each runtime
 * forwards with: undici's Agent `connect` options on Node (and Deno's npm compatibility), Bun's fetch `tls`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { type UpstreamTls, upstreamTls } from '../../src/runtimes/shared/upstream-tls.ts';
import { makeCa, makeLeaf } from '../support/certs.ts';

let server: Server;
let url: string;
let caPem: string;

before(async () => {
  const ca = await makeCa();
  const leaf = await makeLeaf({ ca });
  caPem = ca.cert;
  server = createServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => res.end('over tls'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://localhost:${(server.address() as AddressInfo).port}/`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function get(options: UpstreamTls): Promise<string> {
  if ('Bun' in globalThis) {
    // Bun's undici is a shim that ignores `connect`; Bun forwards with its own fetch, which takes `tls`.
    const response = await fetch(url, { tls: { ...options, ca: options.ca } } as RequestInit);
    return await response.text();
  }
  const agent = new Agent({ connect: { ...(options.ca ? { ca: options.ca } : {}), rejectUnauthorized: options.rejectUnauthorized } });
  try {
    const response = await request(url, { dispatcher: agent });
    return await response.body.text();
  } finally {
    await agent.close();
  }
}

describe('upstreamTls', () => {
  test('without UPSTREAM_CA_FILE the default store is kept and a private CA is refused', async () => {
    const options = await upstreamTls(undefined, false);
    assert.deepEqual(options, { ca: undefined, rejectUnauthorized: true });
    await assert.rejects(get(options));
  });

  test('the private CA is trusted, added to the bundled public roots rather than replacing them', async () => {
    const options = await upstreamTls([caPem], false);
    assert.equal(await get(options), 'over tls');
    assert.ok((options.ca?.length ?? 0) > 100, 'public roots are still there');
  });

  test('UPSTREAM_TLS_INSECURE skips the check', async () => {
    assert.equal(await get(await upstreamTls(undefined, true)), 'over tls');
  });
});
