/**
 * Deno's RSS while a large body passes through a JavaScript ReadableStream, against the same body handed to
 * Deno.serve natively: a minimal proxy, an origin in a child process, curl as the client. A pass-through stream
 * (what Fairway needs to see each chunk: UPSTREAM_READ_TIMEOUT_MS, exact accounting) lets the chunks' ArrayBuffers
 * pile up until V8's external-memory limit forces a GC: +43 MiB here for 1 GiB (Fairway's own download, +86 MiB in
 * `npm run bench:memory`, and +1.3 MiB with UPSTREAM_READ_TIMEOUT_MS=0, which hands Deno the body natively); the
 * native body adds 3 MiB.
 *
 *   deno run -A bench/repro/deno-stream-rss.mjs js       (or: native)      env MIB (default 1024)
 */
const MIB = 1024 * 1024;
const total = Number(Deno.env.get('MIB') ?? 1024) * MIB;

if (Deno.env.get('ROLE') === 'origin') {
  const chunk = new Uint8Array(64 * 1024);
  Deno.serve({ hostname: '127.0.0.1', port: Number(Deno.env.get('PORT')), onListen() {} }, () => {
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent >= total) return controller.close();
        controller.enqueue(chunk.slice());
        sent += chunk.byteLength;
      },
    }, { highWaterMark: 0 });
    return new Response(body, { headers: { 'content-length': String(total) } });
  });
} else {
  const mode = Deno.args[0] ?? 'js';
  const originPort = 18771, proxyPort = 18772;
  const origin = new Deno.Command(Deno.execPath(), {
    args: ['run', '-A', new URL(import.meta.url).pathname],
    env: { ROLE: 'origin', PORT: String(originPort), MIB: String(total / MIB) },
    stdout: 'null',
  }).spawn();
  const passThrough = (body) => {
    const reader = body.getReader();
    return new ReadableStream({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
  };
  const server = Deno.serve({ hostname: '127.0.0.1', port: proxyPort, onListen() {} }, async () => {
    const upstream = await fetch(`http://127.0.0.1:${originPort}/`);
    return new Response(mode === 'native' ? upstream.body : passThrough(upstream.body), { headers: upstream.headers });
  });
  for (let i = 0; i < 100; i++) {
    try {
      await (await fetch(`http://127.0.0.1:${originPort}/`, { method: 'HEAD' })).body?.cancel();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const baseline = Deno.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 50);
  const started = performance.now();
  const curl = await new Deno.Command('curl', { args: ['-s', '-o', '/dev/null', '-w', '%{size_download}', `http://127.0.0.1:${proxyPort}/`] }).output();
  clearInterval(sampler);
  const bytes = Number(new TextDecoder().decode(curl.stdout));
  console.log(
    `Deno ${Deno.version.deno}, ${mode} body, ${bytes / MIB} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s: RSS ${
      (baseline / MIB).toFixed(0)
    } → peak ${(peak / MIB).toFixed(0)} MiB (+${((peak - baseline) / MIB).toFixed(0)} MiB)`,
  );
  origin.kill();
  await server.shutdown();
}
