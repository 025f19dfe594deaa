/**
 * What each Web API step of a proxied request costs by itself, in ns per operation, on the runtime that runs
 * this file (`deno run bench/repro/web-api-costs.mjs`, `bun bench/repro/web-api-costs.mjs`, `node ...`).
 * No I/O: these are the runtime's own costs, apart from Fairway's code and from the machine's noise.
 */
const N = Number((typeof Deno !== 'undefined' ? Deno.env.get('N') : process.env.N) ?? 200_000);

// A typical wrk request's headers, and a typical nginx response's.
const requestFields = [['host', '127.0.0.1:8080'], ['user-agent', 'wrk'], ['accept', '*/*']];
const responseFields = [
  ['server', 'nginx/1.22.1'],
  ['date', 'Tue, 01 Dec 2026 18:18:51 GMT'],
  ['content-type', 'text/plain'],
  ['content-length', '128'],
  ['last-modified', 'Tue, 01 Dec 2026 18:18:48 GMT'],
  ['connection', 'keep-alive'],
  ['etag', '"6929b7e8-80"'],
  ['accept-ranges', 'bytes'],
];
const requestHeaders = new Headers(requestFields);
const responseHeaders = new Headers(responseFields);
const body = new Uint8Array(128);
let sink = 0;

const cases = {
  'new Headers(headers) (request, 3 fields)': () => {
    sink += new Headers(requestHeaders) ? 1 : 0;
  },
  'new Headers(headers) (response, 8 fields)': () => {
    sink += new Headers(responseHeaders) ? 1 : 0;
  },
  'headers.get() (present)': () => {
    sink += requestHeaders.get('user-agent').length;
  },
  'headers.get() (absent)': () => {
    sink += requestHeaders.get('x-request-id') === null ? 1 : 0;
  },
  'headers.has() (absent)': () => {
    sink += requestHeaders.has('x-forwarded-for') ? 0 : 1;
  },
  'copy + set() ×4 + delete() ×7 (request rules)': () => {
    const h = new Headers(requestHeaders);
    for (const name of ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']) h.delete(name);
    h.set('x-forwarded-for', '127.0.0.1');
    h.set('x-forwarded-proto', 'http');
    h.set('x-forwarded-host', '127.0.0.1:8080');
    h.set('x-request-id', 'abc');
    sink += 1;
  },
  'headers.forEach() (response, 8 fields)': () => {
    responseHeaders.forEach((v) => {
      sink += v.length;
    });
  },
  'new Response(bytes, { status, headers })': () => {
    sink += new Response(body, { status: 200, statusText: 'OK', headers: responseHeaders }).status;
  },
  'new AbortController() + .signal': () => {
    sink += new AbortController().signal.aborted ? 0 : 1;
  },
  'signal.addEventListener + removeEventListener': (() => {
    const signal = new AbortController().signal;
    return () => {
      const f = () => {};
      signal.addEventListener('abort', f);
      signal.removeEventListener('abort', f);
      sink++;
    };
  })(),
  'setTimeout + clearTimeout': () => {
    clearTimeout(setTimeout(() => {}, 60_000));
    sink++;
  },
  'crypto.randomUUID()': () => {
    sink += crypto.randomUUID().length;
  },
  'new URL(url)': () => {
    sink += new URL('http://127.0.0.1:8080/small?x=1').pathname.length;
  },
  'performance.now()': () => {
    sink += performance.now() > 0 ? 1 : 0;
  },
  'Date.now() + new Date().toISOString()': () => {
    sink += new Date(Date.now()).toISOString().length;
  },
  'JSON.stringify (access log entry)': () => {
    sink += JSON.stringify({
      time: '2026-12-01T18:18:51.000Z',
      requestId: 'f6b1c8a0-0000-4000-8000-000000000000',
      client: '127.0.0.1',
      method: 'GET',
      path: '/small',
      status: 200,
      server: 'http://127.0.0.1:18081',
      attempts: 1,
      serversTried: [],
      upstreamHeadersMs: 0.412,
      totalMs: 0.5,
      bytesIn: 0,
      bytesOut: 128,
      referer: '',
      userAgent: '',
    }).length;
  },
};

const runtime = typeof Deno !== 'undefined' ? `Deno ${Deno.version.deno}` : typeof Bun !== 'undefined' ? `Bun ${Bun.version}` : `Node ${process.versions.node}`;
console.log(`${runtime}: ns per operation (median of 5 runs of ${N})`);
for (const [name, fn] of Object.entries(cases)) {
  for (let i = 0; i < 20_000; i++) fn();
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) fn();
    runs.push(((performance.now() - t0) * 1e6) / N);
  }
  runs.sort((a, b) => a - b);
  console.log(`${runs[2].toFixed(0).padStart(7)}  ${name}`);
}
if (sink === 42) console.log('');
