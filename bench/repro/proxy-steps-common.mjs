/** The steps proxy-steps*.mjs can add to a runtime's ceiling, which of them the issues require (and why), and two helpers they share. */

/**
 * Every step, what it does on the Web runtimes (Deno, Bun) and on Node's path (node:http in, undici out). `node: null`
 * is a Web-only step with nothing to mirror on Node. `requiredBy` names the feature that makes it unavoidable for any
 * proxy that does what Fairway's issues ask, in its cheapest known form; steps without it are diagnostics (other ways
 * to do a step, or costs Fairway no longer pays).
 */
export const STEPS = {
  ip: {
    web: 'read the client address (Bun: server.requestIP; Deno: info.remoteAddr)',
    node: 'req.socket.remoteAddress',
    requiredBy: "X-Forwarded-For (issue 8: set from what Fairway saw) and the access log's client field (issue 11)",
  },
  abort: {
    web: 'a new AbortController per request, its signal passed to fetch',
    node: "a new AbortController per request, an abort listener on its signal added and removed (as the relay aborts undici's dispatch)",
    requiredBy: 'stopping the upstream request on a deadline, a client that left or shutdown (issues 7 and 9: one stop signal per Exchange)',
  },
  timers: {
    web: 'three setTimeout + clearTimeout pairs (a timer per limit per request, as Fairway did before session 8)',
    node: 'three setTimeout + clearTimeout pairs',
    requiredBy: null,
  },
  timerlist: {
    web:
      "two deadlines per request (UPSTREAM_TIMEOUT_MS, UPSTREAM_READ_TIMEOUT_MS) on shared per-duration lists, one runtime timer per list (Fairway's LimitTimer)",
    node: "two deadlines per request on shared per-duration lists (Fairway's LimitTimer)",
    requiredBy:
      'UPSTREAM_TIMEOUT_MS per try (issue 9) and UPSTREAM_READ_TIMEOUT_MS (issue 8), in the cheapest form known (one setTimeout per duration, not per request)',
  },
  listener: {
    web: "request.signal.addEventListener('abort') and removeEventListener",
    node: "res.on('close') (node:http's only sign that the client left)",
    requiredBy: 'a client that leaves aborts its upstream request and ends its Exchange at once (issue 7; exact in-flight accounting)',
  },
  uuid: {
    web: 'crypto.randomUUID() (the request id)',
    node: 'crypto.randomUUID() (the request id)',
    requiredBy: 'X-Request-Id when the client sent none (issue 7: the request id is made at admission), also in the access log (issue 11)',
  },
  reqheaders: {
    web: 'the request header rules: five reads, five writes (X-Forwarded-For/-Proto/-Host, Via, X-Request-Id) on the copy, made as recordcopy',
    node: 'the request header rules on the header object: six reads, five writes',
    requiredBy: 'X-Forwarded-For/-Proto/-Host set from what Fairway saw (issue 8), Via (RFC 9110 §7.6.3), X-Request-Id (issue 7)',
  },
  copyheaders: { web: 'new Headers(upstream.headers) and a new Response around the native body', node: null, requiredBy: null },
  resheaders: {
    web: "the response header rules on the response's own copy (copyinto): get(connection), every hop-by-hop field deleted, X-Request-Id set, Via appended",
    node: 'the response header rules on the object the ceiling already copies without hop-by-hop fields: Connection read, X-Request-Id set, Via appended',
    requiredBy: 'hop-by-hop fields removed from the response too (RFC 9110 §7.6.1), X-Request-Id on the response (issue 7), Via (RFC 9110 §7.6.3)',
  },
  buffer: {
    web: 'read the body whole (arrayBuffer()) and answer new Response(bytes)',
    node: null,
    requiredBy: "issue 12's response buffering: a small response is read whole and the exchange ends when the server is done",
  },
  copyinto: {
    web: "let the Response constructor copy the server's headers (new Response(body, { headers: upstream.headers })), then apply the rules to response.headers",
    node: null,
    requiredBy: 'not a step: the cheapest way to make the one copy resheaders and buffer need (one copy, not two; session 10)',
    for: ['resheaders', 'buffer'],
  },
  recordcopy: {
    web: 'copy the request headers with one forEach into a plain record (hop-by-hop fields skipped), write the rules into it, hand the record to fetch',
    node: null,
    requiredBy: "not a step: the cheapest way to apply the request header rules (Deno's ceiling copies so since session 10; no webidl conversion per get/set)",
    for: ['reqheaders'],
  },
  cheapcopy: {
    web: "copy headers as new Response(null, { headers }).headers, apply the rules, then new Response(body, { headers }) (two copies; Fairway's copyHeaders)",
    node: null,
    requiredBy: null,
  },
  setafter: { web: 'new Response(body, { status }) first, then set each header on response.headers', node: null, requiredBy: null },
  stream: { web: 'pass the body through a JavaScript ReadableStream (highWaterMark 0)', node: null, requiredBy: null },
  completed: { web: "Deno: wait on info.completed (Fairway's exact end of a natively sent body)", node: null, requiredBy: null },
  url: { web: 'new URL(request.url)', node: null, requiredBy: null },
  tls: { web: 'Bun: a `tls` option on every fetch (Fairway passes UPSTREAM_CA_FILE and UPSTREAM_TLS_INSECURE so)', node: null, requiredBy: null },
  accesslog: {
    web: "one JSON line per request (Fairway's 15 fields), each encoded at once (encodeInto) into a reused 64 KiB byte buffer, one " +
      "console.log per full buffer or 100 ms (Fairway's batchedLineSink, without LogTape)",
    node: "one JSON line per request (Fairway's 15 fields), encoded and batched as Fairway's batchedLineSink (64 KiB byte buffer, 100 ms)",
    requiredBy: 'ACCESS_LOG=json is the default (issue 11), and issue 12 measures the default configuration, access log included',
    // The form runs measured before session 11's byte-buffer sink took (steps.md names it for those rows).
    before: {
      date: '2026-12-02T07:15:00Z',
      web: "one JSON line per request, kept as strings and batched: one console.log every 100 ms or 1000 lines (Fairway's sink before its byte buffer)",
      node: "one JSON line per request, kept as strings and batched as Fairway's sink before its byte buffer (100 ms or 1000 lines)",
    },
  },
  // Not a per-request step but what a proxy must load at start (and route and log through): run on top of `required`.
  libs: {
    web: "Fairway's libraries, as Fairway uses them: its zod config schema parsing the environment once (src/core/config), Hono with the " +
      '/lb/* routes (src/core/admin/admin-routes.ts) for /lb/ paths, LogTape configured by src/core/logging.ts, each access log line ' +
      "through Fairway's access log sink (src/core/stats/access-log.ts) instead of the plain one; on Bun zod's English-only locale plugin first",
    node: "Fairway's libraries, as Fairway uses them: its zod config schema parsing the environment once (src/core/config), Hono with the " +
      "/lb/* routes (src/core/admin/admin-routes.ts) behind @hono/node-server's request listener for /lb/ paths, LogTape configured by " +
      "src/core/logging.ts, each access log line through Fairway's access log sink (src/core/stats/access-log.ts) instead of the plain " +
      "one; started as `npm start` starts Fairway: on Node 22.18+ with its preload (scripts/typescript-loader.mjs: Node's compile " +
      "cache, filled by an earlier start, so the type stripper never loads; zod's locales narrowed to English), tsx's loader on Node 20",
    requiredBy: 'the architecture rules (GUIDE.md): zod validates every env setting, hono (+ @hono/node-server on Node) routes /lb/*, ' +
      "LogTape writes the logs; issue 12: on Node 22.18 and later the TypeScript source runs through Node's own type stripping",
    extends: 'required',
  },
};

/**
 * Not steps but ways to take them: the cheapest way known to make the header copies a step needs. `STEPS=required` has
 * them; run.mjs adds them to a single step's run when the step is in their `for`, so a step costs what it must, no more.
 */
export const WAYS = ['copyinto', 'recordcopy'];

/**
 * Per runtime: where a profile puts the required steps' extra time, why the target stays out of reach, and what the
 * runtime would need (rendered under the runtime's table in steps.md). Profiles: the ceiling and `STEPS=required` each
 * under wrk -t1 -c50 for 1+5 s, self time per request (Node, Bun: --cpu-prof; Deno: --v8-flags=--prof, 1 ms ticks), on
 * the shared machine, so only the larger differences count.
 */
export const STEP_NOTES = {
  node20: [
    "**Probably out of reach; the dearest step is Node 20's own cost.** The required row's median is under 0.85× but one round is above " +
    'it (a loaded run), so the ratio alone does not prove it. `abort` is the dearest single step: outside HTTP an AbortController with ' +
    'one abort listener added and removed takes 11.5 µs on Node 20 against 0.3 µs on Node 26 (the same loop). Profiled, the ' +
    'required-steps proxy spends +34 µs/req more than the ceiling in the garbage collector, 10 µs/req in EventTarget `addEventListener` ' +
    'and 6.6 in `createAbortSignal` (self time), and most of the rest in the access log (JSON, console).',
    "**What Node 20 would need:** Node 22+'s AbortSignal and EventTarget (38× cheaper on Node 26). Fairway on Node 20 also runs under " +
    "the tsx loader; that and Fairway's own code are its gap over the required row here.",
  ],
  node26: [
    '**Out of reach by the median, not in every round.** Over 9 rounds the required row is 0.73 (0.57–0.89)×: under 0.85× in eight, ' +
    'above it in one (0.89). So with none of its own code Fairway would still sit at about 0.73× by the median; its own code adds about ' +
    '11.5 µs/req on top (Fairway 0.62×). `resheaders` (+26.7 µs in the 6-round run) was noise: outside HTTP its three operations cost ' +
    '0.03 µs and `writeHead` with the two extra fields 0.3 µs, and an A-B in HTTP (4 rounds, `steps.ab-node26.md`) gave it 1.01× the ' +
    'ceiling against 0.90× for an A-A copy of the ceiling.',
    "**Profile** (required over the ceiling, self µs/req): the access log's console write, JSON and UTF-8 encoding 8–12, the garbage " +
    'collector 2–3.5, randomUUID 1.9, the handler 2–4; the rest is socket writes (`writev`), whose share moves with the load. The cost is ' +
    'spread over what the steps must do, not one runtime defect; the dearest is writing the log lines: Node 26 would need a cheaper ' +
    'stdout write of batched strings (console formatting and a UTF-8 copy per batch).',
    '**Memory ladder: ≤ 100 MiB is out of reach with only the required pieces, by 5–8 MiB capped, and the ceiling alone is ' +
    'there too** (3 rounds each, `steps.ladder2-node26.md` and `-semi4.md`, the same half hour; the access log step writing as ' +
    "Fairway's sink does, the libs rung started as `npm start` starts Fairway, its compile cache filled). Peak RSS, ceiling / " +
    'required / required + libs / Fairway: 119 / 118 / 131 / 143 MiB at V8 defaults, 105 / 108 / 106 / 122 with ' +
    '`--max-semi-space-size=4` (ranges: ceiling 95–109, required 104–108, libs 106–107); idle 70 / 72 / 89 / 94–97. The capped ' +
    "ceiling alone peaks at 95–109 MiB: the `node` binary's pages (about 51 MiB) and node:http with undici (26 MiB at idle, " +
    '`node-deno-rss.mjs`), before any step; the per-request steps then add −2 to 5 MiB at the peak and the libraries 18 MiB ' +
    "idle (zod, Hono, LogTape and Fairway's config modules; the type stripper no longer loads: libs idle 118 → 89 MiB, Fairway " +
    '129 → 97 against the earlier ladder, `steps.mladder-node26*.md`) but nothing measurable at the capped peak. At V8 defaults ' +
    'the young generation grows to up to 64 MiB of new space and puts every rung, the ceiling included, at 105–144.',
    '**What Node 26 would need for 100 MiB:** a lighter baseline for a proxy on its own APIs, since the capped ceiling alone ' +
    'peaks at 95–109 MiB: a bundled undici that does not cost 19 MiB for the global `Response` and 26 MiB with the npm copy, ' +
    'and a young generation sized from the program or package.json, not only by a command-line flag (V8 defaults add 14 MiB ' +
    'to the ceiling and 25 to the libs rung). With the cap and 10–15 MiB off that baseline the required pieces would fit: on ' +
    'top of the capped ceiling they add 1–3 MiB at the peak. Fairway itself adds 14–16 MiB more (its own code and garbage).',
  ],
  deno: [
    "**Out of reach on Deno's APIs.** The required steps' extra time lands in native code, not in the steps' JavaScript: profiled, " +
    "Deno's own binary (Rust: hyper, ops) +17 µs/req, glibc allocation and copies (malloc, memcpy) and syscalls +18, V8 builtins +8, " +
    "Deno's JavaScript glue (Headers, Request, events) +3, the steps' own code +1.6. Buffering alone (`arrayBuffer()` + `new " +
    'Response(bytes)`) adds +17 µs/req of profile time, most in the binary and malloc; each request header crosses into Rust at about ' +
    '1 µs (new Request with 5 more fields: +3.5–7 µs).',
    "**What Deno would need:** `Headers`/`Request`/`Response` without a webidl conversion per field and per call (Deno's own request copy " +
    'as a plain record runs its ceiling 1.28× faster than as `new Headers`, `steps.ab-deno.md`), a body read that hands the bytes over ' +
    'without a copy and a malloc per chunk, a client-gone notification that costs nothing until the client leaves, and a fetch that ' +
    'builds no dependent signal when given one (`deno-serve-request-signal.mjs`, `deno-fetch-signal.mjs`).',
    '**Memory ladder: ≤ 100 MiB is out of reach with only the required pieces: the capped ceiling fits, the per-request steps ' +
    'put it over** (3 rounds each, `steps.ladder2-deno.md` and `-semi4.md`, the same half hour; the access log step writing as ' +
    "Fairway's sink does). Peak RSS, ceiling / required / required + libs / Fairway: 124 / 148 / 164 / 170 MiB at V8 defaults, 86 " +
    '/ 117 / 146 / 167 with `--max-semi-space-size=4` (ranges: ceiling 83–88, required 108–128, libs 143–151); idle 39 / 45 / 58 / ' +
    '65. At defaults the young generation puts even the ceiling over (52 MiB of new space at its peak, `node-deno-rss.mjs`). ' +
    'Capped, the ceiling has 12–17 MiB of room and the per-request steps take 24–41 MiB at the peak: objects that live until ' +
    "their response ends and are promoted under load (session 10's single steps, before the byte-buffer log: the access log " +
    '+21, deadlines +12, buffering +11, abort +10). The libraries add 13 MiB idle and about 29 at the capped peak, by the medians (each access log ' +
    'line goes through a LogTape record). The capped peaks depend on the rate: this run, on a quieter machine (ceiling ' +
    '9,900–13,800 req/s), put required 14–28 MiB and libs 31–34 above the earlier capped runs (`steps.mladder-deno-semi4*.md`, ' +
    'ceiling 3,400–8,100 req/s: 75–77 / 89–103 / 112–115 / 133–134): more requests between two full collections fill more of ' +
    'the old space.',
    '**What Deno would need for 100 MiB:** a young generation sized from the program or deno.json (only `--v8-flags` and ' +
    '`DENO_V8_FLAGS` reach V8 today), and less kept per request in flight: even capped, the required steps alone sit at 108–128 ' +
    'MiB (85–106 at lower rates), most of it Request/Response/Headers/AbortSignal objects that Deno builds in JavaScript per ' +
    'request and that survive a scavenge while their response is in flight. Then room for the libraries (13 MiB idle, about 29 at ' +
    "the capped peak), of which zod is the largest (its schema objects for Fairway's settings keep 7 MiB after one parse): that " +
    'part is the library, not the runtime.',
  ],
  bun: [
    "**Out of reach on Bun's APIs, by a smaller margin.** Profiled, the required steps add about 30 µs/req, spread out: the steps' " +
    'JavaScript about 8, `server.requestIP` 6.5 (a `getpeername` per call, `bun-request-ip.mjs`), the access log 9 (console.log 4.7, ' +
    'JSON.stringify 3.5), buffering 6 (`arrayBuffer` 2.7, the Response constructor 3.1), the AbortController and the abort listeners ' +
    '5.4, Headers get/set/forEach 3.5. The cheapest header forms (`copyinto`, `recordcopy`) save 1–3 µs here (`steps.ab-bun.md`).',
    '**What Bun would need:** the peer address kept from accept (requestIP without a syscall), a console/stdout write that does not ' +
    'cost 5 µs per batched line, a client-gone signal that is free until used, and a cheaper Response construction from bytes and an ' +
    'existing Headers.',
    '**Memory ladder: ≤ 64 MiB is reachable with only the required pieces, by 4 MiB** (3 rounds, `steps.ladder2-bun.md`; the ' +
    "access log step writing as Fairway's sink does; the earlier ladder, `steps.mladder-bun.md`: 47 / 57 / 62 / 65). Peak RSS, " +
    'ceiling / required / required + libs / Fairway: 47 / 56 / 60 / 63 MiB (ranges 46–48, 55–56, 60, 62–64); idle 30 / 34 / 46 / ' +
    "48. The per-request steps add 8–10 MiB at the peak, the libraries 4 (12 at idle: zod with Fairway's English-only locale " +
    "plugin 5, Fairway's config schema 8, LogTape and Hono 1, `libs-rss.mjs`), Fairway's own code 3 more: it sits at the " +
    "target, just under it. Room would come from zod: its schema objects for Fairway's settings keep about 8 MiB.",
  ],
};

/** The steps `STEPS=required` turns on for a runtime: every per-request step the issues require that has a form there. */
export function requiredSteps(runtime) {
  const node = runtime === 'node';
  return Object.keys(STEPS).filter((name) => STEPS[name].requiredBy !== null && !STEPS[name].extends && (node ? STEPS[name].node !== null : true));
}

/** Steps measured on top of another (`libs` on `required`), each run as `STEPS=<extends>,<step>`. */
export const LADDER_STEPS = Object.keys(STEPS).filter((name) => STEPS[name].extends);

/**
 * The `libs` step: Fairway's own modules for its config, its /lb/* routes and its logging, loaded (dynamically, so no
 * other step pays for them) and used as src/core/bootstrap.ts uses them. Returns the /lb/* Hono app and an access
 * log with the same entry as accessLog() below, written through LogTape and Fairway's sink.
 */
export async function loadFairwayLibs(env, backends) {
  const src = (file) => new URL(`../../src/${file}`, import.meta.url).href;
  // As src/runtimes/bun.ts: zod's locales cut to English before zod loads.
  if (typeof Bun !== 'undefined') (await import(src('runtimes/bun/zod-locales.ts'))).loadZodEnglishOnly();
  const { formatConfigErrors, parseConfig } = await import(src('core/config/config.ts'));
  const parsed = parseConfig(env);
  if (!parsed.ok) throw new Error(formatConfigErrors(parsed.errors));
  const { accessLog, logFormat, logLevel } = parsed.config;
  (await import(src('core/logging.ts'))).configureLogging(logLevel, logFormat, accessLog);
  const sink = (await import(src('core/stats/access-log.ts'))).accessLogSink(accessLog);
  const admin = (await import(src('core/admin/admin-routes.ts'))).createAdminRoutes({ stats: () => ({}), healthyServers: () => backends.length });
  return {
    admin,
    log: (e) =>
      sink.record({
        startedAt: e.startedAt,
        requestId: e.requestId,
        clientAddress: e.client,
        method: e.method,
        target: e.path,
        server: { url: e.server },
        status: e.status,
        failure: undefined,
        abandoned: false,
        attempts: 1,
        serversTried: [],
        headersMs: e.headersMs,
        totalMs: e.totalMs,
        bytesIn: e.bytesIn,
        bytesOut: e.bytesOut,
        referer: e.referer,
        userAgent: e.userAgent,
      }),
  };
}

/** Parses `STEPS=a,b` (with `required` expanding as above) and rejects names the runtime has no form of. */
export function parseSteps(text, runtime) {
  const steps = new Set();
  for (const name of (text ?? '').split(',').filter(Boolean)) {
    if (name === 'required') { for (const s of requiredSteps(runtime)) steps.add(s); }
    else if (!(name in STEPS)) throw new Error(`unknown step ${name}; known: required, ${Object.keys(STEPS).join(', ')}`);
    else if (runtime === 'node' && STEPS[name].node === null) throw new Error(`step ${name} has no form on Node (${STEPS[name].web})`);
    else steps.add(name);
  }
  return steps;
}

/**
 * The same deadline design as Fairway's LimitTimer: a limit is the same for every request, so a list in start order is
 * also in expiry order, and one runtime timer armed for the list's first deadline serves every request. Per request it
 * is a performance.now(), an append and an unlink: no timer object of its own.
 */
export class DeadlineList {
  #ms;
  #first = undefined;
  #last = undefined;
  #handle = undefined;

  constructor(ms) {
    this.#ms = ms;
  }

  /** A running deadline; `onExpire` runs if it is still on the list when due. */
  start(onExpire) {
    const entry = { deadline: performance.now() + this.#ms, onExpire, previous: this.#last, next: undefined };
    if (this.#last) this.#last.next = entry;
    else this.#first = entry;
    this.#last = entry;
    this.#handle ??= setTimeout(this.#fire, this.#ms);
    return entry;
  }

  cancel(entry) {
    if (entry.previous) entry.previous.next = entry.next;
    else if (this.#first === entry) this.#first = entry.next;
    else return;
    if (entry.next) entry.next.previous = entry.previous;
    else this.#last = entry.previous;
    entry.previous = entry.next = undefined;
  }

  #fire = () => {
    this.#handle = undefined;
    const now = performance.now();
    while (this.#first !== undefined && this.#first.deadline <= now) {
      const entry = this.#first;
      this.cancel(entry);
      entry.onExpire();
    }
    if (this.#first !== undefined) this.#handle = setTimeout(this.#fire, Math.max(1, this.#first.deadline - now));
  };
}

/** The ISO time of a millisecond, cached: requests that start in the same millisecond share one string (as Fairway's access log). */
let lastMs = Number.NaN;
let lastText = '';
const isoTime = (ms) => {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
};

/** Fairway's batch: 64 KiB of encoded lines, written when full (from a timer) or 100 ms after its first line. */
export const ACCESS_LOG_BATCH = { batchBytes: 64 * 1024, flushIntervalMs: 100 };

const decoder = new TextDecoder();
/** Fairway's core writer: one console.log per batch (which adds the last line feed back). */
const consoleWriter = (lines) => console.log(decoder.decode(lines.subarray(0, lines.length - 1)));

/**
 * The algorithm of Fairway's batchedLineSink (src/core/stats/access-log.ts), without LogTape: each line encoded at once
 * (`TextEncoder.encodeInto`) into a reused byte buffer, so its string dies in the request that made it; one write per
 * full buffer (from a timer, never in the request) or per `flushIntervalMs`. A copy rather than an import: that module
 * loads LogTape, and on Node its TypeScript would load the type stripper, which belong to the `libs` rung, not to the
 * step (test/unit/bench-access-log-step.test.ts pins that both write the same batches). Returns `append(line)` and `flush`.
 */
export function batchedLines({ batchBytes, flushIntervalMs, write = consoleWriter }) {
  const encoder = new TextEncoder();
  let buffer = new Uint8Array(batchBytes);
  let used = 0;
  const full = [];
  let spare;
  let timer;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const batches = full.splice(0);
    if (used > 0) batches.push(buffer.subarray(0, used));
    used = 0;
    for (const batch of batches) {
      if (batch.buffer !== buffer.buffer && batch.buffer.byteLength === batchBytes) spare = new Uint8Array(batch.buffer);
      write(batch);
    }
  };
  const append = (line) => {
    const { read, written } = encoder.encodeInto(line, buffer.subarray(used));
    if (read < line.length || used + written >= batchBytes) return false;
    buffer[used + written] = 10;
    used += written + 1;
    return true;
  };
  const add = (line) => {
    if (!append(line)) {
      if (used > 0) {
        full.push(buffer.subarray(0, used));
        buffer = spare ?? new Uint8Array(batchBytes);
        spare = undefined;
        used = 0;
      }
      if (!append(line)) full.push(encoder.encode(`${line}\n`));
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(flush, 0);
      return;
    }
    timer ??= setTimeout(flush, flushIntervalMs);
  };
  return { add, flush };
}

/**
 * Fairway's access log in its least form: the entry of issue 11's fields, JSON.stringify, and the lines written as
 * Fairway's sink writes them (batchedLines above: 64 KiB byte batches, or every 100 ms), so no request waits for a
 * write of its own. No LogTape: the step measures what the feature needs, not the library (bench/repro/
 * access-log-cost.ts measures that; the `libs` rung adds it).
 */
export function accessLog(write) {
  const lines = batchedLines({ ...ACCESS_LOG_BATCH, ...(write ? { write } : {}) });
  return (e) =>
    lines.add(JSON.stringify({
      time: isoTime(e.startedAt),
      requestId: e.requestId,
      client: e.client,
      method: e.method,
      path: e.path,
      status: e.status,
      server: e.server,
      attempts: 1,
      serversTried: [],
      upstreamHeadersMs: Math.round(e.headersMs * 1000) / 1000,
      totalMs: Math.round(e.totalMs * 1000) / 1000,
      bytesIn: e.bytesIn,
      bytesOut: e.bytesOut,
      referer: e.referer ?? '',
      userAgent: e.userAgent ?? '',
    }));
}
