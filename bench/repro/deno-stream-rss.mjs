/**
 * Deno's RSS while a large body passes through a JavaScript ReadableStream, against the same body handed to
 * Deno.serve natively: a minimal proxy, an origin in a child process, curl as the client. A pass-through stream
 * (what Fairway needs to see each chunk: UPSTREAM_READ_TIMEOUT_MS, exact accounting) lets the chunks' ArrayBuffers
 * pile up until V8's external-memory limit forces a GC: +43 MiB here for 1 GiB (Fairway's own download, +86 MiB in
 * `npm run bench:memory`, and +1.3 MiB with UPSTREAM_READ_TIMEOUT_MS=0, which hands Deno the body natively); the
 * native body adds 3 MiB. `release` is the same pass-through freeing each chunk (ArrayBuffer transfer(0)) when
 * Deno.serve asks for the next, as Fairway does on Deno (src/runtimes/deno/chunk-release.ts): +14 MiB for 256 MiB
 * against +38–43 for `js` and +2–3 for `native`, and the client's bytes checked the same (sha256 of what curl got).
 *
 *   deno run -A bench/repro/deno-stream-rss.mjs js       (or: native, release)      env MIB (default 1024)
 */
const MIB = 1024 * 1024;
const total = Number(Deno.env.get('MIB') ?? 1024) * MIB;

if (Deno.env.get('ROLE') === 'origin') {
  // A pattern, and each chunk numbered in its first byte, so a lost or reused chunk changes the client's sha256.
  const chunk = new Uint8Array(64 * 1024).map((_, i) => (i * 7 + 3) % 251);
  let sequence = 0;
  Deno.serve({ hostname: '127.0.0.1', port: Number(Deno.env.get('PORT')), onListen() {} }, () => {
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent >= total) return controller.close();
        const copy = chunk.slice();
        copy[0] = sequence++ % 256;
        controller.enqueue(copy);
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
    let previous;
    return new ReadableStream({
      async pull(controller) {
        // Deno.serve handed the previous chunk to Rust before asking for this one.
        if (mode === 'release' && previous !== undefined && !previous.buffer.detached) previous.buffer.transfer(0);
        const { done, value } = await reader.read();
        previous = value;
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
  const received = await Deno.makeTempFile();
  const baseline = Deno.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 50);
  const started = performance.now();
  const curl = await new Deno.Command('curl', { args: ['-s', '-o', received, '-w', '%{size_download}', `http://127.0.0.1:${proxyPort}/`] }).output();
  clearInterval(sampler);
  const bytes = Number(new TextDecoder().decode(curl.stdout));
  console.log(
    `Deno ${Deno.version.deno}, ${mode} body, ${bytes / MIB} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s: RSS ${
      (baseline / MIB).toFixed(0)
    } → peak ${(peak / MIB).toFixed(0)} MiB (+${((peak - baseline) / MIB).toFixed(0)} MiB)`,
  );
  const sum = await new Deno.Command('sha256sum', { args: [received] }).output();
  console.log(`sha256 of the bytes the client got: ${new TextDecoder().decode(sum.stdout).slice(0, 16)}…`);
  await Deno.remove(received);
  origin.kill();
  await server.shutdown();
}
