/**
 * A real browser's WebSocket through Fairway: Debian's Chromium (playwright-core) opens a WebSocket to the
 * proxy, with a subprotocol, and exchanges text and binary messages with a `ws` echo server behind it, on
 * every runtime FAIRWAY_RUNTIMES selects.
 *
 *   npx tsx --test test/browser/websocket.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { type ProxyHandle, startProxy } from '../support/proxy-process.ts';
import { selectedRuntimes } from '../support/runtimes.ts';
import { startWsBackend, type WsBackend } from '../support/ws-backend.ts';

const CHROMIUM = '/usr/bin/chromium';

/**
 * What the page runs, as source text: tsx's transform would add helpers (`__name`) to a function passed to
 * page.evaluate that do not exist in the page.
 */
const PAGE_SCRIPT = `async function (url) {
  const ws = new WebSocket(url, ['graphql-ws']);
  ws.binaryType = 'arraybuffer';
  const messages = [];
  await new Promise(function (resolve, reject) { ws.onopen = resolve; ws.onerror = function () { reject(new Error('WebSocket error')); }; });
  const next = function () { return new Promise(function (resolve) { ws.onmessage = function (event) { resolve(event.data); }; }); };
  ws.send('hello from the browser');
  messages.push(await next());
  ws.send(new Uint8Array([1, 2, 3, 250]));
  messages.push(Array.from(new Uint8Array(await next())));
  const closed = new Promise(function (resolve) { ws.onclose = function (event) { resolve({ code: event.code, reason: event.reason }); }; });
  ws.send('close:4000:done');
  return { protocol: ws.protocol, messages: messages, close: await closed };
}`;

describe('WebSocket from Chromium through Fairway', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing; install it with: apt-get install -y chromium`,
}, () => {
  let browser: Browser;
  let backend: WsBackend;

  before(async () => {
    backend = await startWsBackend('browser-echo');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await backend?.close();
  });

  for (const runtime of selectedRuntimes()) {
    test(`[${runtime.name}] the page opens a WebSocket, gets its subprotocol, and exchanges text and binary messages`, async () => {
      const proxy: ProxyHandle = await startProxy(runtime, { BACKEND_SERVERS: backend.url });
      const page = await browser.newPage();
      try {
        // Any page of the proxy's origin will do; the health path answers quickly.
        await page.goto(`${proxy.url}/health`);
        const result = await page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify(`ws://127.0.0.1:${proxy.port}/browser`)})`);
        assert.deepEqual(result, {
          protocol: 'graphql-ws',
          messages: ['hello from the browser', [1, 2, 3, 250]],
          close: { code: 4000, reason: 'done' },
        });
      } finally {
        await page.close();
        await proxy.stop();
      }
    });
  }
});
