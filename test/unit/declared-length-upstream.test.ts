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

test('a streamed body reaches the server whole, each chunk released only after node:http has written it', async () => {
  const received: Buffer[] = [];
  const server = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => received.push(chunk));
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const parts = [new Uint8Array(70_000).fill(1), new Uint8Array(70_000).fill(2), new Uint8Array(10).fill(3)];
  const sent = [...parts];
  const released: Uint8Array[] = [];
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = parts.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
  try {
    const response = await fetchWithDeclaredLength(
      url,
      { method: 'PUT', headers: new Headers({ 'content-length': '140010' }), body, signal: new AbortController().signal, redirect: 'manual', duplex: 'half' },
      undefined,
      (chunk) => {
        // Releasing frees the buffer: what the server got must not depend on it any more.
        released.push(chunk);
        chunk.fill(0);
      },
    );
    assert.equal(await response.text(), 'ok');
    const all = Buffer.concat(received);
    assert.equal(all.length, 140_010);
    assert.deepEqual([all[0], all[69_999], all[70_000], all[139_999], all[140_009]], [1, 1, 2, 2, 3]);
    assert.deepEqual(released, sent);
  } finally {
    server.close();
  }
});
