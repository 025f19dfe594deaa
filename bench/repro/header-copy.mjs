/**
 * Copying and handing over header lists, the ways a proxy on Web APIs can: Deno 2.9 is slow at exactly the ones
 * `new Headers(headers)`, a Headers' key iterator and `fetch`/`new Request` with a Headers argument use (its generic
 * webidl iterable conversion), and fast at the Response constructor's own copy and at `forEach`. On Bun every way
 * costs under about 1.5 µs. No I/O: ns per operation, median of 5 runs.
 *
 *   deno run bench/repro/header-copy.mjs   |   bun bench/repro/header-copy.mjs   |   node bench/repro/header-copy.mjs
 */
const N = 100_000;
const requestFields = [
  ['host', '127.0.0.1:8080'],
  ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36'],
  ['accept', '*/*'],
  ['accept-language', 'en-US,en;q=0.9'],
  ['accept-encoding', 'gzip, deflate, br'],
  ['cookie', 'a=b; c=d'],
  ['referer', 'http://example.com/'],
  ['x-forwarded-for', '1.2.3.4'],
  ['via', '1.1 fairway'],
  ['x-request-id', 'f6b1c8a0-0000-4000-8000-000000000000'],
];
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
const response = new Headers(responseFields);
const request = new Headers(requestFields);
const requestRecord = Object.fromEntries(requestFields);
const body = new Uint8Array(128);
let sink = 0;

const cases = {
  'new Headers(headers)  (8 fields)': () => new Headers(response),
  'new Response(null, { headers }).headers  (8 fields)': () => new Response(null, { headers: response }).headers,
  'new Headers(pairs)  (8 fields)': () => new Headers(responseFields),
  '[...headers.keys()]  (8 fields)': () => [...response.keys()],
  'headers.forEach(), names into an array  (8 fields)': () => {
    const names = [];
    response.forEach((_v, name) => names.push(name));
    return names;
  },
  'new Response(null, { headers: Headers })': () => new Response(null, { headers: response }),
  'new Response(128 bytes, { headers: Headers })': () => new Response(body, { headers: response }),
  'new Response(128 bytes, { headers: pairs })': () => new Response(body, { headers: responseFields }),
  'new Request(url, { headers: Headers })  (10 fields, as fetch does)': () => new Request('http://127.0.0.1:18081/small', { headers: request }),
  'new Request(url, { headers: pairs })  (10 fields)': () => new Request('http://127.0.0.1:18081/small', { headers: requestFields }),
  'new Request(url, { headers: record })  (10 fields)': () => new Request('http://127.0.0.1:18081/small', { headers: requestRecord }),
};

const runtime = typeof Deno !== 'undefined' ? `Deno ${Deno.version.deno}` : typeof Bun !== 'undefined' ? `Bun ${Bun.version}` : `Node ${process.versions.node}`;
console.log(`${runtime}: ns per operation (median of 5 runs of ${N})`);
for (const [name, fn] of Object.entries(cases)) {
  for (let i = 0; i < 10_000; i++) sink += fn() ? 1 : 0;
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) sink += fn() ? 1 : 0;
    runs.push(((performance.now() - t0) * 1e6) / N);
  }
  runs.sort((a, b) => a - b);
  console.log(`${runs[2].toFixed(0).padStart(7)}  ${name}`);
}
if (sink === 0) console.log('');
