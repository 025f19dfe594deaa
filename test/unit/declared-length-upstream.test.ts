/** Deno's upstream path for bodies with a declared length honours the exchange's abort, on a reused connection too. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchWithDeclaredLength } from '../../src/runtimes/deno/declared-length-upstream.ts';

test('a request sent on a kept-alive connection to a server that never answers is rejected once its signal aborts', async () => {
  let answered = 0;
  // Answers the first request, so its connection is kept alive and reused, and never the second.
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => void (answered++ === 0 && res.end('ok')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const body = new TextEncoder().encode('payload');
  const send = (signal: AbortSignal) =>
    fetchWithDeclaredLength(url, {
      method: 'POST',
      headers: new Headers({ 'content-length': String(body.length) }),
      body,
      signal,
      redirect: 'manual',
      duplex: 'half',
    });
  try {
    const first = await send(new AbortController().signal);
    assert.equal(await first.text(), 'ok');
    const controller = new AbortController();
    const reason = Symbol('upstream timeout');
    const second = send(controller.signal);
    // Aborted only once the server has the request, so the abort meets a request in flight on the reused connection.
    while (answered < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort(reason);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      second.then(() => 'resolved', (error: unknown) => error),
      new Promise((resolve) => (timer = setTimeout(() => resolve('still pending 5 s after the abort'), 5_000))),
    ]);
    clearTimeout(timer);
    assert.equal(outcome, reason);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
