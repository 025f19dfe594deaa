#!/usr/bin/env node
/**
 * Fairway load benchmark: Fairway on Node 20, Node 26, Deno and Bun against nginx, HAProxy, JavaScript proxy
 * libraries and a minimal proxy per runtime (its ceiling), all driven by wrk over loopback. Every figure is reported
 * as a ratio to nginx-as-proxy measured right before and after it (A-B-A), because the machine is small, shared and
 * noisy: absolute numbers move run to run, ratios much less. Fairway is also reported as a ratio to its runtime's ceiling.
 *
 *   npm run bench                          all scenarios, 3 rounds
 *   npm run bench -- --scenario small      one scenario (comma-separate several)
 *   npm run bench -- --quick               smoke run: `small`, 1 round of ~2 s on a subset; fails if a target errs
 *   npm run bench -- --list                show targets and scenarios, run nothing
 *   npm run bench -- --help                all options
 *
 * Writes bench/results/latest.json and latest.md (quick runs: quick.json and quick.md).
 * Plain .mjs so it runs on any Node >= 20 without a build step.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describeExit, findSystemNode, freePort, killGroup } from '../scripts/lib/processes.mjs';
import { LADDER_STEPS, requiredSteps, STEP_NOTES, STEPS as PROXY_STEPS, WAYS } from './repro/proxy-steps-common.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const RESULTS_DIR = path.join(BENCH_DIR, 'results');
const BASELINE = 'nginx-proxy';

const SMALL_BYTES = 128;
const LARGE_BYTES = 1024 * 1024;
const POST_BYTES = 64 * 1024;
const SLOW_MS = 10;

const START_DEADLINE_MS = 30_000; // a target must answer its readiness path within this
const STOP_GRACE_MS = 3_000; // SIGTERM, then SIGKILL after this
const WRK_TIMEOUT_S = 5; // per-request timeout inside wrk
const WRK_SLACK_MS = 20_000; // wrk is killed if it outlives its duration by this much
const RSS_SAMPLE_MS = 100;
const SETTLE_MS = 1_000; // pause between warm-up and measured run
const IDLE_SETTLE_MS = 1_000; // steps runs: pause between readiness and the idle RSS sample (as bench/repro/node-deno-rss.mjs)

// ---------------------------------------------------------------------------------------------------------------
// Scenarios

const SCENARIOS = {
  small: { desc: `${SMALL_BYTES} B responses, wrk -t1 -c50 (headline)`, path: '/small', connections: 50, expectBytes: SMALL_BYTES },
  large: { desc: '1 MiB responses, wrk -t1 -c50', path: '/large', connections: 50, expectBytes: LARGE_BYTES },
  conns: { desc: `${SMALL_BYTES} B responses, 1000 connections, wrk -t1 -c1000`, path: '/small', connections: 1000, expectBytes: SMALL_BYTES },
  post: {
    desc: `POST of 64 KiB bodies, ${SMALL_BYTES} B responses, wrk -t1 -c50`,
    path: '/post',
    connections: 50,
    method: 'POST',
    bodyBytes: POST_BYTES,
    expectBytes: SMALL_BYTES,
  },
  slow: { desc: `backend answers after ${SLOW_MS} ms (Node backend), wrk -t1 -c50`, path: '/slow', connections: 50, expectBytes: SMALL_BYTES, backend: 'slow' },
  // A new client connection per request, as many real clients open them; the proxy's upstream side stays keep-alive.
  close: {
    desc: `${SMALL_BYTES} B responses, one new connection per request (Connection: close), wrk -t1 -c50`,
    path: '/small',
    connections: 50,
    expectBytes: SMALL_BYTES,
    headers: ['Connection: close'],
  },
};

/** nginx keeps at least this many idle upstream connections, and never fewer than the scenario has clients. */
const NGINX_MIN_KEEPALIVE = 1024;
const nginxKeepalive = (scenario) => Math.max(NGINX_MIN_KEEPALIVE, scenario.connections);

/** A run whose error rate passes this is flagged in every table (its req/s counts successful responses only). */
const ERROR_FLAG_RATE = 0.01;

// ---------------------------------------------------------------------------------------------------------------
// Targets. To add one, push an entry to the list built in buildTargets(); Fairway variants are easiest via
// FAIRWAY_VARIANTS below or the --fairway-variant flag, e.g. --fairway-variant 'w2:WORKERS=2' (any env vars).

/**
 * Node 22.18 and later strip TypeScript types themselves (process.features.typescript); older Node needs tsx.
 * So Node 26 runs the source as Fairway's users run it: no loader.
 */
function nodeStripsTypes(version) {
  const [major, minor] = String(version ?? '').split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 18);
}
const nodeArgs = (tool, entry) => (nodeStripsTypes(tool?.version) ? [entry] : ['--import', 'tsx', entry]);
/** Fairway on Node starts as `npm start` does when the checkout has its preload (scripts/typescript-loader.mjs: the compile cache). */
const fairwayNodeArgs = (tool, entry) => (root) =>
  nodeStripsTypes(tool?.version) && fs.existsSync(path.join(root, 'scripts', 'typescript-loader.mjs'))
    ? ['--import', './scripts/typescript-loader.mjs', entry]
    : nodeArgs(tool, entry);

/**
 * The environment a checkout's own start script for a runtime sets (`"start:bun": "BUN_JSC_useFTLJIT=0 exec bun …"`
 * gives `{ BUN_JSC_useFTLJIT: '0' }`), so each checkout, a --baseline-root one included, runs as its README starts it.
 */
function startScriptEnv(root, script) {
  let command;
  try {
    command = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts?.[script];
  } catch {
    return {};
  }
  const env = {};
  for (const word of String(command ?? '').split(/\s+/)) {
    const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(word);
    if (!assignment) break;
    env[assignment[1]] = assignment[2];
  }
  return env;
}

const FAIRWAY_RUNTIMES = (tools) => [
  {
    id: 'node20',
    label: `Node ${tools.node20?.version ?? '20'}`,
    cmd: tools.node20?.path,
    args: nodeArgs(tools.node20, 'src/runtimes/node.ts'),
    missing: tools.node20 ? null : 'system Node 20 (node outside node_modules)',
  },
  {
    id: 'node26',
    label: `Node ${tools.node26?.version ?? '26'}`,
    cmd: tools.node26?.path,
    args: fairwayNodeArgs(tools.node26, 'src/runtimes/node.ts'),
    missing: tools.node26 ? null : 'node_modules/node/bin/node (npm install)',
  },
  {
    id: 'deno',
    label: `Deno ${tools.deno?.version ?? ''}`.trim(),
    cmd: tools.deno?.path,
    args: ['run', '-A', 'src/runtimes/deno.ts'],
    missing: tools.deno ? null : 'node_modules/.bin/deno (npm install)',
  },
  {
    id: 'bun',
    label: `Bun ${tools.bun?.version ?? ''}`.trim(),
    cmd: tools.bun?.path,
    args: ['run', 'src/runtimes/bun.ts'],
    // README's Bun command is `npm run start:bun`: JSC options in front (BUN_JSC_useFTLJIT=0, bench/README.md).
    startScript: 'start:bun',
    missing: tools.bun ? null : 'node_modules/.bin/bun (npm install)',
  },
];

/**
 * Per runtime, the least a proxy on the same server and client APIs as Fairway can do (bench/ceilings/). Each
 * Fairway target is also reported as a ratio to the ceiling of its runtime: that separates Fairway's own cost
 * from the runtime's.
 */
const CEILINGS = (tools) => [
  {
    runtime: 'node20',
    label: `node:http + undici Agent.stream, Node ${tools.node20?.version ?? '20'}`,
    cmd: tools.node20?.path,
    args: [path.join(BENCH_DIR, 'ceilings', 'node.mjs')],
  },
  {
    runtime: 'node26',
    label: `node:http + undici Agent.stream, Node ${tools.node26?.version ?? '26'}`,
    cmd: tools.node26?.path,
    args: [path.join(BENCH_DIR, 'ceilings', 'node.mjs')],
  },
  {
    runtime: 'deno',
    label: `Deno.serve + fetch, native body, Deno ${tools.deno?.version ?? ''}`.trim(),
    cmd: tools.deno?.path,
    args: ['run', '-A', path.join(BENCH_DIR, 'ceilings', 'deno.mjs')],
  },
  {
    runtime: 'bun',
    label: `Bun.serve + fetch (decompress: false), native body, Bun ${tools.bun?.version ?? ''}`.trim(),
    cmd: tools.bun?.path,
    args: ['run', path.join(BENCH_DIR, 'ceilings', 'bun.mjs')],
  },
];
const ceilingName = (runtimeId) => `ceiling-${runtimeId}`;

/**
 * `--steps RUNTIME`: the runtime's ceiling plus each step the issues require, alone and all together (bench/repro/
 * proxy-steps*.mjs), as targets `steps-<runtime>-<step>` and `steps-<runtime>-required`. On the Web runtimes a step
 * takes the cheapest way known to copy headers (WAYS: `copyinto`, and `recordcopy` for the request header rules), so
 * no step costs more than it must. `--steps-variant ID:STEPS` adds `steps-<runtime>-ID` with any STEPS (an A-B).
 */
const stepForm = (runtimeId) => (runtimeId.startsWith('node') ? 'node' : 'web');
function stepTargets(tools, runtimeId, extraVariants = []) {
  const form = stepForm(runtimeId);
  const script = path.join(BENCH_DIR, 'repro', form === 'node' ? 'proxy-steps-node.mjs' : 'proxy-steps.mjs');
  const args = runtimeId === 'deno' ? ['run', '-A', script] : runtimeId === 'bun' ? ['run', script] : [script];
  const ways = (step) => (form === 'web' ? WAYS.filter((w) => PROXY_STEPS[w].for.includes(step)).map((w) => `,${w}`).join('') : '');
  const variants = [
    { id: 'required', steps: 'required', label: 'every step the issues require' },
    // `libs`: required plus Fairway's libraries (a rung of the memory ladder); its TypeScript needs tsx on Node 20.
    ...LADDER_STEPS.map((s) => ({ id: s, steps: `${PROXY_STEPS[s].extends},${s}`, label: PROXY_STEPS[s][form], typescript: true })),
    ...requiredSteps(form).filter((s) => !WAYS.includes(s)).map((s) => ({ id: s, steps: s + ways(s), label: PROXY_STEPS[s][form] })),
    ...extraVariants.map((v) => ({ id: v.id, steps: v.steps, label: `STEPS=${v.steps}` })),
  ];
  return variants.map((v) => ({
    name: `steps-${runtimeId}-${v.id}`,
    label: `ceiling + ${v.id}: ${v.label}`,
    kind: 'steps',
    runtime: runtimeId,
    step: v.id,
    stepsEnv: v.steps,
    missing: tools[runtimeId] ? null : FAIRWAY_RUNTIMES(tools).find((r) => r.id === runtimeId).missing,
    launch: ({ port, backends }) => ({
      cmd: tools[runtimeId].path,
      // On Node 22.18+ the libs rung starts as `npm start` does (fairwayNodeArgs: the preload's compile cache and zod locale hook).
      args: v.typescript && form === 'node' ? fairwayNodeArgs(tools[runtimeId], script)(ROOT) : args,
      env: { ...runtimeTuning(runtimeId), HOST: '127.0.0.1', PORT: String(port), BACKEND_SERVERS: backends.join(','), STEPS: v.steps },
      readyPath: '/health',
      listeningLine: true,
    }),
  }));
}

/**
 * The runtime settings Fairway's own start script gives a runtime (`start:bun`: JSC options), given to that runtime's
 * ceiling and peers too: a ×ceiling or ×peer ratio then compares code on one equally tuned runtime, not tunings.
 */
const runtimeTuning = (runtimeId) => (runtimeId === 'bun' ? startScriptEnv(ROOT, 'start:bun') : {});

/** The runtimes the JavaScript peers run on: the same Node majors as Fairway, and Bun (each peer runs there). */
const PEER_RUNTIMES = (tools) => [
  // --no-deprecation: http-proxy's util._extend warning on Node 26 is the library's, not a problem under load.
  {
    id: 'node20',
    label: `Node ${tools.node20?.version ?? '20'}`,
    cmd: tools.node20?.path,
    prefix: ['--no-deprecation'],
    missing: tools.node20 ? null : 'system Node 20',
  },
  {
    id: 'node26',
    label: `Node ${tools.node26?.version ?? '26'}`,
    cmd: tools.node26?.path,
    prefix: ['--no-deprecation'],
    missing: tools.node26 ? null : 'node_modules/node/bin/node (npm install)',
  },
  {
    id: 'bun',
    label: `Bun ${tools.bun?.version ?? ''}`.trim(),
    cmd: tools.bun?.path,
    prefix: ['run'],
    missing: tools.bun ? null : 'node_modules/.bin/bun (npm install)',
  },
];

/** Each runtime above is run once per variant. `env` is added to the Fairway environment. */
const FAIRWAY_VARIANTS = [
  { id: 'rr', label: 'round_robin', env: { ALGORITHM: 'round_robin' } },
  { id: 'lc', label: 'least_connections', env: { ALGORITHM: 'least_connections' } },
  // { id: 'rr-w2', label: 'round_robin, WORKERS=2', env: { ALGORITHM: 'round_robin', WORKERS: '2' } },
];

const PEERS = [
  { id: 'http-proxy', script: 'http-proxy.mjs', pkg: 'http-proxy', runtimes: ['node20', 'node26', 'bun'] },
  // Not on Bun: Bun swaps the undici package for its own partial shim, whose Pool has no request() (500 on every request).
  { id: 'fastify-http-proxy', script: 'fastify-http-proxy.mjs', pkg: '@fastify/http-proxy', runtimes: ['node20', 'node26'] },
  { id: 'httpxy', script: 'httpxy.mjs', pkg: 'httpxy', runtimes: ['node20', 'node26', 'bun'] },
];

/** --quick runs these: nginx, one Fairway per runtime, the Bun ceiling, one peer. */
const QUICK_TARGETS = [BASELINE, 'fairway-node20-rr', 'fairway-node26-rr', 'fairway-deno-rr', 'fairway-bun-rr', 'ceiling-bun', 'http-proxy-node26'];

function buildTargets(tools, variants, baselineRoot = null, stepRuntimes = [], stepVariants = []) {
  const targets = [
    { name: 'direct', label: 'backend directly (the machine’s limit)', kind: 'direct', direct: true },
    {
      name: BASELINE,
      label: `nginx${tools.nginx?.version ? ` ${tools.nginx.version}` : ''} proxy (1 worker, upstream keepalive ≥ ${NGINX_MIN_KEEPALIVE} and ≥ clients)`,
      kind: 'reference',
      missing: tools.nginx ? null : 'nginx',
      launch: ({ port, backends, tmp, scenario }) => nginxProxyLaunch(tools.nginx.path, tmp, port, backends, nginxKeepalive(scenario)),
    },
    {
      name: 'haproxy',
      label: `HAProxy${tools.haproxy?.version ? ` ${tools.haproxy.version}` : ''} (nbthread 1)`,
      kind: 'reference',
      missing: tools.haproxy ? null : 'haproxy',
      launch: ({ port, backends, tmp }) => haproxyLaunch(tools.haproxy.path, tmp, port, backends),
    },
  ];
  // With --baseline-root, every Fairway target gets a twin run from another checkout (say, main before a change),
  // interleaved in the same rounds, so a before/after comparison shares each round's nginx and machine state.
  const roots = baselineRoot
    ? [{ suffix: '', cwd: ROOT, note: '' }, { suffix: '-base', cwd: baselineRoot, note: ` (baseline ${path.basename(baselineRoot)})` }]
    : [{ suffix: '', cwd: ROOT, note: '' }];
  for (const runtime of FAIRWAY_RUNTIMES(tools)) {
    for (const variant of variants) {
      for (const root of roots) {
        targets.push({
          name: `fairway-${runtime.id}-${variant.id}${root.suffix}`,
          label: `Fairway, ${runtime.label}, ${variant.label}${root.note}`,
          kind: 'fairway',
          runtime: runtime.id,
          missing: runtime.missing,
          launch: ({ port, backends }) => ({
            cmd: runtime.cmd,
            args: typeof runtime.args === 'function' ? runtime.args(root.cwd) : runtime.args,
            cwd: root.cwd,
            env: {
              ...(runtime.startScript ? startScriptEnv(root.cwd, runtime.startScript) : {}),
              HOST: '127.0.0.1',
              PORT: String(port),
              BACKEND_SERVERS: backends.join(','),
              LOG_LEVEL: 'info',
              ...variant.env,
            },
            readyPath: '/lb/health',
            listeningLine: true,
          }),
        });
      }
    }
  }
  for (const ceiling of CEILINGS(tools)) {
    targets.push({
      name: ceilingName(ceiling.runtime),
      label: `ceiling: ${ceiling.label}`,
      kind: 'ceiling',
      runtime: ceiling.runtime,
      missing: ceiling.cmd ? null : FAIRWAY_RUNTIMES(tools).find((r) => r.id === ceiling.runtime).missing,
      launch: ({ port, backends }) => ({
        cmd: ceiling.cmd,
        args: ceiling.args,
        env: { ...runtimeTuning(ceiling.runtime), HOST: '127.0.0.1', PORT: String(port), BACKEND_SERVERS: backends.join(',') },
        readyPath: '/health',
        listeningLine: true,
      }),
    });
  }
  for (const peer of PEERS) {
    const installed = fs.existsSync(path.join(ROOT, 'node_modules', peer.pkg, 'package.json'));
    for (const runtime of PEER_RUNTIMES(tools).filter((r) => peer.runtimes.includes(r.id))) {
      targets.push({
        name: `${peer.id}-${runtime.id}`,
        label: `${peer.pkg} ${packageVersion(peer.pkg) ?? ''} on ${runtime.label}`,
        kind: 'peer',
        runtime: runtime.id,
        missing: runtime.missing ?? (installed ? null : `${peer.pkg} (npm install)`),
        launch: ({ port, backends }) => ({
          cmd: runtime.cmd,
          args: [...(runtime.prefix ?? []), path.join(BENCH_DIR, 'peers', peer.script)],
          env: { ...runtimeTuning(runtime.id), HOST: '127.0.0.1', PORT: String(port), BACKEND_SERVERS: backends.join(',') },
          readyPath: '/health',
          listeningLine: true,
        }),
      });
    }
  }
  for (const runtimeId of stepRuntimes) targets.push(...stepTargets(tools, runtimeId, stepVariants));
  return targets;
}

function nginxProxyLaunch(nginx, tmp, port, backends, keepalive) {
  const dir = path.join(tmp, `nginx-proxy-${port}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const conf = `
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile ${fdLimit};
events { worker_connections 8192; }
http {
  access_log off;
  ${tempPaths(dir)}
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  # 64 KiB POST bodies stay in memory instead of going to a temp file.
  client_body_buffer_size 128k;
  # Responses larger than the buffers stream through instead of spilling to a temp file.
  proxy_max_temp_file_size 0;
  upstream backends {
    ${backends.map((b) => `server ${new URL(b).host};`).join('\n    ')}
    # Idle connections kept per worker: at least one per client, so nginx never reconnects under load,
    # as the JavaScript proxies (no cap) and HAProxy (http-reuse always) do not.
    keepalive ${keepalive};
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, conf);
  return { cmd: nginx, args: ['-p', dir, '-c', file, '-e', path.join(dir, 'error.log')], readyPath: '/health' };
}

function haproxyLaunch(haproxy, tmp, port, backends) {
  const file = path.join(tmp, `haproxy-${port}.cfg`);
  const conf = `
global
  nbthread 1
  # HAProxy refuses to start unless it can get 2 fds per connection plus a few: fit maxconn to the limit.
  maxconn ${Math.max(1200, Math.min(10_000, Math.floor((fdLimit - 200) / 2)))}
  pidfile ${tmp}/haproxy-${port}.pid

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s

frontend fe
  bind 127.0.0.1:${port}
  default_backend be

backend be
  balance roundrobin
${backends.map((b, i) => `  server s${i + 1} ${new URL(b).host}`).join('\n')}
`;
  fs.writeFileSync(file, conf);
  return { cmd: haproxy, args: ['-f', file, '-db'], readyPath: '/health' };
}

function tempPaths(dir) {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path ${dir}/${k}_temp;`).join('\n  ');
}

// ---------------------------------------------------------------------------------------------------------------
// Command line

function usage() {
  return `Usage: node bench/run.mjs [options]   (npm run bench -- [options])

  --quick                    smoke run: scenario small, 1 round, ~2 s per target, subset of targets;
                             exits 1 if any target fails to start or answers mostly errors
  --scenario LIST            comma-separated, from: ${Object.keys(SCENARIOS).join(', ')} (default: all)
  --rounds N                 rounds per scenario, targets interleaved, order rotated (default 3)
  --nginx-every N            run nginx-as-proxy before the first target and after every N targets; each ratio
                             uses nginx interpolated between the runs around it (default 1: A-B-A; quick: all)
  --duration S               measured seconds per wrk run (default 8; quick 2)
  --warmup S                 warm-up seconds per run before measuring (default 2; quick 1)
  --targets REGEX            only targets whose name matches (nginx-proxy is always kept as the baseline)
  --fairway-variant ID:K=V[,K=V...]
                             extra Fairway variant run on every runtime, e.g. 'w2:ALGORITHM=round_robin,WORKERS=2'
  --baseline-root DIR        also run every Fairway target from the checkout DIR (targets named ...-base),
                             interleaved in the same rounds: a before/after comparison in one run
  --alternate-base           with --baseline-root: each Fairway target runs before its ...-base twin in even rounds and
                             after it in odd ones (the rotation alone keeps the twins in one order in most rounds)
  --steps RUNTIMES           per runtime (node20, node26, deno, bun; comma-separated) the ceiling, the ceiling plus each
                             step the issues require alone and all together (bench/repro/proxy-steps*.mjs) and Fairway
                             (rr), interleaved; default scenario small; no nginx: the ceiling runs first and after every
                             --nginx-every targets (default 4) and is interpolated around each; merges the runtime's
                             figures into bench/results/steps.json and steps.md
  --steps-render             only render bench/results/steps.md again from steps.json (with --out NAME: steps.NAME.*), run nothing
  --steps-append             add this steps run's rounds to the runtime's earlier ones in steps.json instead of replacing them
  --steps-variant ID:STEPS   with --steps: also run the steps proxy with STEPS (e.g. 'old:resheaders,cheapcopy') as
                             steps-RUNTIME-ID. With it or --targets, the run is an A-B: written to bench/results/
                             steps.NAME.json and .md (--out NAME, default custom), steps.json left alone
  --v8-flags FLAGS           V8 flags for every Node and Deno target (space-separated, e.g. --max-semi-space-size=4),
                             given as NODE_OPTIONS and DENO_V8_FLAGS; recorded in the results
  --no-install               never apt-get install missing tools
                             (env BENCH_PRETEND_MISSING=nginx,haproxy treats those as missing, to try the fallbacks)
  --out NAME                 write bench/results/NAME.json and NAME.md (default: latest; quick for --quick;
                             custom when --targets or --fairway-variant narrows or changes the target list)
  --keep-tmp                 keep the temp dir (configs, logs) and print its path
  --list                     print targets and scenarios, run nothing
  --help`;
}

function parseArgs(argv) {
  const opts = {
    quick: false,
    scenarios: null,
    rounds: null,
    nginxEvery: null,
    duration: null,
    warmup: null,
    targets: null,
    variants: [],
    baselineRoot: null,
    alternateBase: false,
    steps: [],
    stepsAppend: false,
    stepVariants: [],
    stepsRender: false,
    v8Flags: [],
    install: true,
    keepTmp: false,
    list: false,
    out: null,
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline;
    if (arg.startsWith('--') && arg.includes('=')) {
      inline = arg.slice(arg.indexOf('=') + 1);
      arg = arg.slice(0, arg.indexOf('='));
    }
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${arg} needs a value\n\n${usage()}`);
      return v;
    };
    const number = () => {
      const v = Number(value());
      if (!Number.isFinite(v) || v <= 0) fail(`${arg} needs a positive number`);
      return v;
    };
    switch (arg) {
      case '--quick':
        opts.quick = true;
        break;
      case '--scenario':
      case '--scenarios':
        opts.scenarios = value().split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--rounds':
        opts.rounds = Math.round(number());
        break;
      case '--nginx-every':
        opts.nginxEvery = Math.round(number());
        break;
      case '--duration':
        opts.duration = number();
        break;
      case '--warmup': {
        const v = Number(value());
        if (!(v >= 0)) fail('--warmup needs a number >= 0');
        opts.warmup = v;
        break;
      }
      case '--targets':
        opts.targets = new RegExp(value());
        break;
      case '--fairway-variant':
        opts.variants.push(parseVariant(value()));
        break;
      case '--baseline-root': {
        opts.baselineRoot = path.resolve(value());
        if (!fs.existsSync(path.join(opts.baselineRoot, 'src', 'runtimes', 'node.ts'))) {
          fail(`--baseline-root ${opts.baselineRoot}: no src/runtimes/node.ts there; give a Fairway checkout`);
        }
        break;
      }
      case '--alternate-base':
        opts.alternateBase = true;
        break;
      case '--steps':
        opts.steps = value().split(',').map((s) => s.trim()).filter(Boolean);
        for (const r of opts.steps) {
          if (!['node20', 'node26', 'deno', 'bun'].includes(r)) fail(`--steps: unknown runtime ${r}; use node20, node26, deno or bun`);
        }
        break;
      case '--steps-append':
        opts.stepsAppend = true;
        break;
      case '--steps-variant': {
        const text = value();
        const colon = text.indexOf(':');
        if (colon < 1 || !/^[a-z0-9-]+$/.test(text.slice(0, colon))) fail(`--steps-variant ${text}: use ID:STEP[,STEP...] (ID in a-z, 0-9, -)`);
        opts.stepVariants.push({ id: text.slice(0, colon), steps: text.slice(colon + 1) });
        break;
      }
      case '--v8-flags':
        opts.v8Flags = value().split(/\s+/).filter(Boolean);
        for (const f of opts.v8Flags) if (!/^--[\w-]+(=[\w.-]+)?$/.test(f)) fail(`--v8-flags: ${f} is not a V8 flag (--name or --name=value)`);
        break;
      case '--steps-render':
        opts.stepsRender = true;
        break;
      case '--no-install':
        opts.install = false;
        break;
      case '--keep-tmp':
        opts.keepTmp = true;
        break;
      case '--out':
        opts.out = value();
        if (!/^[\w.-]+$/.test(opts.out)) fail('--out takes a plain file name stem');
        break;
      case '--list':
        opts.list = true;
        break;
      case '--help':
      case '-h':
        console.log(usage());
        process.exit(0);
        break;
      default:
        fail(`unknown option ${argv[i]}\n\n${usage()}`);
    }
  }
  for (const s of opts.scenarios ?? []) if (!(s in SCENARIOS)) fail(`unknown scenario ${s}; use one of ${Object.keys(SCENARIOS).join(', ')}`);
  if (opts.quick) {
    if (opts.scenarios && opts.scenarios.join() !== 'small') fail('--quick runs only the small scenario');
    opts.scenarios = ['small'];
  }
  // A steps run compares every target with its ceiling, run before the first and after every 4 targets (no nginx).
  if (opts.steps.length) {
    opts.scenarios ??= ['small'];
    opts.nginxEvery ??= 4;
  }
  opts.scenarios ??= Object.keys(SCENARIOS);
  opts.rounds ??= opts.quick ? 1 : 3;
  // A smoke run needs only some reference, so it brackets the whole round once.
  opts.nginxEvery ??= opts.quick ? 1000 : 1;
  opts.duration ??= opts.quick ? 2 : 8;
  opts.warmup ??= opts.quick ? 1 : 2;
  // Ad-hoc runs must not overwrite the results the README quotes.
  opts.out ??= opts.quick ? 'quick' : opts.targets || opts.variants.length || opts.baselineRoot || opts.stepVariants.length ? 'custom' : 'latest';
  return opts;
}

function parseVariant(text) {
  const colon = text.indexOf(':');
  if (colon < 1) fail(`--fairway-variant ${text}: use ID:KEY=VALUE[,KEY=VALUE...]`);
  const id = text.slice(0, colon);
  const env = {};
  for (const pair of text.slice(colon + 1).split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq < 1) fail(`--fairway-variant ${text}: "${pair}" is not KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { id, label: Object.entries(env).map(([k, v]) => `${k}=${v}`).join(', ') || id, env: { ALGORITHM: 'round_robin', ...env } };
}

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------------------
// Tools

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** First `name` on PATH, then in the sbin folders a non-root PATH may lack. */
function which(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (isExecutable(file)) return file;
  }
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/sbin']) {
    const file = path.join(dir, name);
    if (isExecutable(file)) return file;
  }
  return null;
}

function capture(cmd, args, { timeout = 20_000 } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function packageVersion(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

const APT_PACKAGES = { wrk: 'wrk', nginx: 'nginx-light', haproxy: 'haproxy' };

function ensureSystemTools(install) {
  // BENCH_PRETEND_MISSING=nginx,haproxy exercises the fallbacks (Node backend, skipped targets) on a full machine.
  const pretend = new Set((process.env.BENCH_PRETEND_MISSING ?? '').split(',').filter(Boolean));
  const find = () => Object.fromEntries(Object.keys(APT_PACKAGES).map((t) => [t, pretend.has(t) ? null : which(t)]));
  let found = find();
  let missing = Object.keys(found).filter((t) => !found[t]);
  if (missing.length > 0 && install && pretend.size === 0 && process.getuid?.() === 0 && which('apt-get')) {
    const pkgs = missing.map((t) => APT_PACKAGES[t]);
    console.log(`bench: installing ${pkgs.join(' ')} with apt-get (running as root)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const opts = { stdio: ['ignore', 'inherit', 'inherit'], env, timeout: 600_000 };
    spawnSync('apt-get', ['update', '-qq'], opts);
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], opts);
    found = find();
    missing = Object.keys(found).filter((t) => !found[t]);
  }
  if (missing.length > 0) {
    const how = process.getuid?.() === 0 ? '' : ' (not root, so not installing)';
    console.warn(`bench: missing ${missing.join(', ')}${how}; install with: apt-get install -y ${missing.map((t) => APT_PACKAGES[t]).join(' ')}`);
    if (!found.wrk) fail('wrk is required to run the benchmark');
    if (!found.nginx) console.warn('bench: without nginx, backends are a Node server, the nginx-proxy target is skipped and no ratios to nginx can be given');
  }
  const tools = {};
  if (found.wrk) tools.wrk = { path: found.wrk, version: (capture(found.wrk, ['-v']).match(/wrk (\S+)/) ?? [])[1] ?? '?' };
  if (found.nginx) tools.nginx = { path: found.nginx, version: (capture(found.nginx, ['-v']).match(/nginx\/(\S+)/) ?? [])[1] ?? '?' };
  if (found.haproxy) tools.haproxy = { path: found.haproxy, version: (capture(found.haproxy, ['-v']).match(/version (\S+)/) ?? [])[1] ?? '?' };
  return tools;
}

function findRuntimes() {
  const tools = {};
  const node20 = findSystemNode();
  if (node20) {
    const version = capture(node20, ['--version']);
    if (/^v\d+\./.test(version)) tools.node20 = { path: node20, version: version.slice(1) };
  }
  const node26 = path.join(ROOT, 'node_modules', 'node', 'bin', 'node');
  if (isExecutable(node26)) tools.node26 = { path: node26, version: capture(node26, ['--version']).slice(1) };
  const deno = path.join(ROOT, 'node_modules', '.bin', 'deno');
  if (isExecutable(deno)) tools.deno = { path: deno, version: (capture(deno, ['--version']).match(/deno (\S+)/) ?? [])[1] ?? '?' };
  const bun = path.join(ROOT, 'node_modules', '.bin', 'bun');
  if (isExecutable(bun)) tools.bun = { path: bun, version: capture(bun, ['--version']) };
  if (tools.node20 && !tools.node20.version.startsWith('20.')) {
    console.warn(`bench: the system node is ${tools.node20.version}, not 20; the node20 targets run on it anyway`);
  }
  return tools;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes: every child runs in its own process group, is tracked by PID and is killed on any exit path.

const live = new Map(); // pid -> proc
let fdLimit = 1024;
let tmpDir = null;
let keepTmp = false;

function computeFdLimit() {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+(\S+)\s+(\S+)/);
  const soft = limits ? Number(limits[1]) : 1024;
  const hard = limits ? (limits[2] === 'unlimited' ? Infinity : Number(limits[2])) : 1024;
  // Children raise their soft limit (sh's ulimit) up to the hard one; 65536 is plenty for 1000 connections.
  return { soft, hard, children: Math.max(soft, Math.min(hard, 65_536)) };
}

function startProcess(name, cmd, args, { env = {}, logFile, cwd = ROOT, pipe = false }) {
  const out = pipe ? 'pipe' : fs.openSync(logFile, 'a');
  // exec keeps the PID: the tracked PID is the program itself, with its raised file-descriptor limit.
  const child = spawn('/bin/sh', ['-c', `ulimit -n ${fdLimit} 2>/dev/null; exec "$@"`, 'sh', cmd, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
    detached: true,
  });
  if (!pipe) fs.closeSync(out);
  const proc = { name, pid: child.pid, child, logFile, exitInfo: null };
  proc.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error: error.message }));
  }).then((info) => {
    proc.exitInfo = info;
    live.delete(proc.pid);
    return info;
  });
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  live.set(proc.pid, proc);
  return proc;
}

/** SIGTERM, then SIGKILL after the grace period. Returns how it ended. */
async function stopProcess(proc, graceMs = STOP_GRACE_MS) {
  if (proc.exitInfo) return { ...proc.exitInfo, before: 'exited on its own' };
  killGroup(proc.child, 'SIGTERM');
  const ended = await Promise.race([proc.exited, sleep(graceMs).then(() => null)]);
  // Sweep the group: workers (nginx) normally leave with their master, this catches any that did not.
  killGroup(proc.child, 'SIGKILL');
  if (ended) return ended;
  const killed = await Promise.race([proc.exited, sleep(2_000).then(() => ({ code: null, signal: 'unkillable?' }))]);
  return { ...killed, needed: 'SIGKILL' };
}

async function cleanupAll() {
  await Promise.all([...live.values()].map((p) => stopProcess(p, 1_500)));
  removeTmp();
}

function removeTmp() {
  if (!tmpDir) return;
  if (keepTmp) {
    console.log(`bench: kept temp dir ${tmpDir}`);
  } else {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
  tmpDir = null;
}

process.on('exit', () => {
  for (const proc of live.values()) killGroup(proc.child, 'SIGKILL');
  removeTmp();
});
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\nbench: ${signal}, stopping ${live.size} process(es)`);
    void cleanupAll().finally(() => process.exit(130));
  });
}
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (error) => {
    console.error(`bench: ${event}:`, error);
    void cleanupAll().finally(() => process.exit(1));
  });
}

function tail(file, lines = 15) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** One HTTP request on a fresh connection; resolves with status and body length, bounded by timeoutMs. */
function httpRequest(url, { method = 'GET', bodyBytes = 0, timeoutMs = 3_000 } = {}) {
  return new Promise((resolve, reject) => {
    const body = bodyBytes > 0 ? Buffer.alloc(bodyBytes, 'x') : null;
    const headers = body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {};
    const req = http.request(url, { method, agent: false, headers, timeout: timeoutMs }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode, bytes, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

async function waitForListeningLine(proc, deadlineMs) {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (proc.exitInfo) throw new Error(`${proc.name} exited (${describeExit(proc.exitInfo)}) before listening; log:\n${tail(proc.logFile)}`);
    let text = '';
    try {
      text = fs.readFileSync(proc.logFile, 'utf8');
    } catch {
      // not created yet
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line);
        if (entry?.properties?.event === 'listening') return entry.properties.port;
      } catch {
        // not JSON
      }
    }
    await sleep(50);
  }
  throw new Error(`${proc.name} logged no "listening" line within ${deadlineMs} ms; log:\n${tail(proc.logFile)}`);
}

async function waitReady(proc, url, deadlineMs) {
  const end = Date.now() + deadlineMs;
  let last = 'no attempt';
  while (Date.now() < end) {
    if (proc.exitInfo) throw new Error(`${proc.name} exited (${describeExit(proc.exitInfo)}) before answering; log:\n${tail(proc.logFile)}`);
    try {
      const r = await httpRequest(url, { timeoutMs: 1_000 });
      if (r.status >= 200 && r.status < 300) return;
      last = `status ${r.status}`;
    } catch (error) {
      last = error.message;
    }
    await sleep(100);
  }
  throw new Error(`${proc.name} did not answer ${url} within ${deadlineMs} ms (last: ${last}); log:\n${tail(proc.logFile)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// /proc: CPU ticks and RSS over a process tree (the process, its threads, and all descendants)

const CLK_TCK = Number(capture('getconf', ['CLK_TCK'])) || 100;
const HAS_CHILDREN_FILE = fs.existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

function descendants(rootPid) {
  if (!HAS_CHILDREN_FILE) return descendantsByScan(rootPid);
  const pids = [rootPid];
  for (let i = 0; i < pids.length; i++) {
    let tasks = [];
    try {
      tasks = fs.readdirSync(`/proc/${pids[i]}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const text = fs.readFileSync(`/proc/${pids[i]}/task/${tid}/children`, 'utf8').trim();
        if (text) { for (const c of text.split(/\s+/)) pids.push(Number(c)); }
      } catch {
        // thread gone
      }
    }
  }
  return pids;
}

function descendantsByScan(rootPid) {
  const parentOf = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) parentOf.set(Number(entry), stat.ppid);
  }
  const pids = [rootPid];
  for (let i = 0; i < pids.length; i++) for (const [pid, ppid] of parentOf) if (ppid === pids[i]) pids.push(pid);
  return pids;
}

function readStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

function cpuSnapshot(rootPid) {
  const snap = new Map();
  for (const pid of descendants(rootPid)) {
    const s = readStat(pid);
    if (s) snap.set(pid, s.ticks);
  }
  return snap;
}

function cpuDeltaSeconds(before, after) {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return ticks / CLK_TCK;
}

function statusKiB(pid, field) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function treeKiB(rootPid, field) {
  let sum = 0;
  for (const pid of descendants(rootPid)) sum += statusKiB(pid, field);
  return sum;
}

/** Samples the tree's summed VmRSS every RSS_SAMPLE_MS; stop() returns the peak in KiB. */
function startRssSampler(rootPid) {
  let peak = treeKiB(rootPid, 'VmRSS');
  const timer = setInterval(() => {
    peak = Math.max(peak, treeKiB(rootPid, 'VmRSS'));
  }, RSS_SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, treeKiB(rootPid, 'VmRSS'));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// wrk

function writeWrkScripts(dir) {
  // done() prints one JSON line, so results never depend on parsing wrk's human output.
  const done = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"lat_mean_us":%.1f,"lat_max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
`;
  const get = path.join(dir, 'get.lua');
  const post = path.join(dir, 'post.lua');
  fs.writeFileSync(get, done);
  fs.writeFileSync(
    post,
    `
wrk.method = "POST"
wrk.body = string.rep("x", ${POST_BYTES})
wrk.headers["Content-Type"] = "application/octet-stream"
${done}`,
  );
  return { GET: get, POST: post };
}

async function runWrk(wrk, { url, connections, seconds, script, headers = [] }) {
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    `${WRK_TIMEOUT_S}s`,
    '--latency',
    ...headers.flatMap((h) => ['-H', h]),
    '-s',
    script,
    url,
  ];
  const proc = startProcess('wrk', wrk, args, { pipe: true });
  let out = '';
  proc.child.stdout.on('data', (d) => (out += d));
  proc.child.stderr.on('data', (d) => (out += d));
  const killer = setTimeout(() => killGroup(proc.child, 'SIGKILL'), seconds * 1000 + WRK_SLACK_MS);
  const exit = await proc.exited;
  clearTimeout(killer);
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk gave no result (${describeExit(exit)}): ${out.trim().slice(-600)}`);
  const r = JSON.parse(line.slice('BENCH_JSON '.length));
  const errors = r.connect + r.read + r.write + r.status + r.timeout;
  return { ...r, errors, rps: r.requests / (r.duration_us / 1e6), raw: out };
}

// ---------------------------------------------------------------------------------------------------------------
// Backends

const SMALL_BODY = 'a'.repeat(SMALL_BYTES);

async function startBackends(tools, tmp, tracked) {
  const slowPorts = [await freePort(), await freePort()];
  const slow = startProcess('slow-backend', tools.node20?.path ?? process.execPath, [path.join(BENCH_DIR, 'backend.mjs'), slowPorts.join(',')], {
    logFile: path.join(tmp, 'slow-backend.log'),
    env: { SMALL_BYTES: String(SMALL_BYTES), SLOW_MS: String(SLOW_MS) },
  });
  tracked.push(slow);
  const slowUrls = slowPorts.map((p) => `http://127.0.0.1:${p}`);
  for (const u of slowUrls) await waitReady(slow, `${u}/health`, START_DEADLINE_MS);

  const fastPorts = [await freePort(), await freePort()];
  const fastUrls = fastPorts.map((p) => `http://127.0.0.1:${p}`);
  let fast;
  let kind;
  if (tools.nginx) {
    kind = `nginx ${tools.nginx.version} (1 worker, static files)`;
    const dir = path.join(tmp, 'nginx-backend');
    const www = path.join(dir, 'www');
    fs.mkdirSync(www, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(www, 'small'), SMALL_BODY);
    fs.writeFileSync(path.join(www, 'large'), Buffer.alloc(LARGE_BYTES, 'b'));
    for (const f of ['small', 'large']) fs.chmodSync(path.join(www, f), 0o644);
    const servers = fastPorts.map((p) => `
  server {
    listen 127.0.0.1:${p};
    root ${www};
    location = /small { default_type text/plain; }
    location = /large { default_type text/plain; }
    location = /post { default_type text/plain; return 200 "${SMALL_BODY}"; }
    location = /health { default_type text/plain; return 200 "ok"; }
  }`).join('\n');
    const conf = `
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile ${fdLimit};
events { worker_connections 8192; }
http {
  access_log off;
  ${tempPaths(dir)}
  sendfile on;
  tcp_nopush on;
  open_file_cache max=100;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_max_body_size 1m;
${servers}
}
`;
    const file = path.join(dir, 'nginx.conf');
    fs.writeFileSync(file, conf);
    fast = startProcess('nginx-backend', tools.nginx.path, ['-p', dir, '-c', file, '-e', path.join(dir, 'error.log')], {
      logFile: path.join(dir, 'stdout.log'),
    });
  } else {
    kind = `Node ${tools.node20?.version ?? process.versions.node} (bench/backend.mjs)`;
    fast = startProcess('node-backend', tools.node20?.path ?? process.execPath, [path.join(BENCH_DIR, 'backend.mjs'), fastPorts.join(',')], {
      logFile: path.join(tmp, 'node-backend.log'),
      env: { SMALL_BYTES: String(SMALL_BYTES) },
    });
  }
  tracked.push(fast);
  for (const u of fastUrls) await waitReady(fast, `${u}/health`, START_DEADLINE_MS);
  return {
    fast: { urls: fastUrls, proc: fast, kind },
    slow: { urls: slowUrls, proc: slow, kind: `Node ${tools.node20?.version ?? process.versions.node} (bench/backend.mjs, ${SLOW_MS} ms delay)` },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// One measured run of one target in one scenario

/**
 * Lines in a target's own output that are not plain info logs: warnings, errors, stack traces. Split at the
 * target's "shutdown" log event, so problems while serving load are told apart from problems while stopping.
 */
function logIssues(file) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const during = [];
  const atStop = [];
  let stopping = false;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let entry = null;
    try {
      entry = JSON.parse(line);
    } catch {
      // not JSON
    }
    if (entry?.properties?.event === 'shutdown') stopping = true;
    if (entry?.properties?.event === 'listening') continue;
    // An ACCESS_LOG=json line (one per request, no level): traffic, not a problem.
    if (entry !== null && entry.level === undefined && typeof entry.requestId === 'string' && typeof entry.time === 'string') continue;
    const level = typeof entry?.level === 'string' ? entry.level.toUpperCase() : null;
    if (level === 'INFO' || level === 'DEBUG' || level === 'TRACE') continue;
    (stopping ? atStop : during).push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
  }
  if (during.length === 0 && atStop.length === 0) return null;
  return { count: during.length, samples: during.slice(0, 5), atShutdown: atStop.length, shutdownSamples: atStop.slice(0, 5) };
}

/** `--v8-flags` reach a Node target through NODE_OPTIONS and a Deno one through DENO_V8_FLAGS; Bun (JavaScriptCore) takes none. */
function withV8Flags(target, spec, flags) {
  if (!flags.length || !['node20', 'node26', 'deno'].includes(target.runtime)) return spec;
  const env = { ...spec.env };
  if (target.runtime === 'deno') env.DENO_V8_FLAGS = [env.DENO_V8_FLAGS, flags.join(',')].filter(Boolean).join(',');
  else env.NODE_OPTIONS = [env.NODE_OPTIONS, ...flags].filter(Boolean).join(' ');
  return { ...spec, env };
}

let runNumber = 0;
async function runOne(ctx, target, scenarioName, round) {
  const scenario = SCENARIOS[scenarioName];
  const backendSet = scenario.backend === 'slow' ? ctx.backends.slow : ctx.backends.fast;
  const rec = {
    scenario: scenarioName,
    round,
    target: target.name,
    kind: target.kind,
    runtime: target.runtime ?? null,
    ...(target.stepsEnv ? { steps: target.stepsEnv } : {}),
    ok: false,
    times: { start: new Date().toISOString() },
  };
  let proc = null;
  try {
    let base;
    let rootPid;
    if (target.direct) {
      base = backendSet.urls[0];
      rootPid = backendSet.proc.pid;
    } else {
      const port = await freePort();
      const spec = withV8Flags(target, target.launch({ port, backends: backendSet.urls, tmp: ctx.tmp, scenario }), ctx.opts.v8Flags);
      // Numbered: a target that runs more than once a round (a steps run's ceiling) must not read an earlier run's listening line.
      const logFile = path.join(ctx.tmp, `${target.name}.${scenarioName}.r${round + 1}.${++runNumber}.log`);
      const t0 = performance.now();
      proc = startProcess(target.name, spec.cmd, spec.args, { env: spec.env, logFile, cwd: spec.cwd ?? ROOT });
      rec.logFile = logFile;
      if (spec.listeningLine) {
        const logged = await waitForListeningLine(proc, START_DEADLINE_MS);
        if (logged !== port) throw new Error(`${target.name} logged listening on port ${logged}, expected ${port}`);
      }
      await waitReady(proc, `http://127.0.0.1:${port}${spec.readyPath}`, START_DEADLINE_MS);
      rec.startupMs = Math.round(performance.now() - t0);
      base = `http://127.0.0.1:${port}`;
      rootPid = proc.pid;
      // Idle RSS, before any load: what start-up left resident (a steps run lets the target settle first).
      if (ctx.opts.steps.length) await sleep(IDLE_SETTLE_MS);
      rec.idleRssMiB = treeKiB(rootPid, 'VmRSS') / 1024;
    }
    const url = `${base}${scenario.path}`;

    // A single checked request first: right status and the whole body, through the proxy to a backend.
    const probe = await httpRequest(url, { method: scenario.method ?? 'GET', bodyBytes: scenario.bodyBytes ?? 0, timeoutMs: 5_000 });
    if (probe.status !== 200 || probe.bytes !== scenario.expectBytes) {
      throw new Error(
        `probe ${scenario.method ?? 'GET'} ${scenario.path}: status ${probe.status}, ${probe.bytes} bytes (expected 200, ${scenario.expectBytes} bytes)`,
      );
    }
    // The probe asks for Connection: close (agent: false). A server SHOULD answer with it (RFC 9112 §9.6); without it
    // wrk takes the connection for reusable and counts the close that follows each complete response as a read error.
    const closeUnannounced = scenario.headers?.includes('Connection: close') && !/\bclose\b/i.test(String(probe.headers.connection ?? ''));

    const script = ctx.wrkScripts[scenario.method ?? 'GET'];
    const wrkArgs = { url, connections: scenario.connections, script, headers: scenario.headers };
    if (ctx.opts.warmup > 0) {
      rec.times.warmup = new Date().toISOString();
      const w = await runWrk(ctx.tools.wrk.path, { ...wrkArgs, seconds: ctx.opts.warmup });
      rec.warmup = { requests: w.requests, errors: w.errors };
      // wrk drops its connections mid-request at the end of a run; let the target finish that work first.
      await sleep(SETTLE_MS);
    }

    rec.times.measure = new Date().toISOString();
    const cpuBefore = cpuSnapshot(rootPid);
    const hwmBefore = treeKiB(rootPid, 'VmHWM');
    const sampler = startRssSampler(rootPid);
    const w = await runWrk(ctx.tools.wrk.path, { ...wrkArgs, seconds: ctx.opts.duration });
    const peakKiB = sampler.stop();
    rec.times.end = new Date().toISOString();
    const cpuSeconds = cpuDeltaSeconds(cpuBefore, cpuSnapshot(rootPid));

    // With closeUnannounced, up to one read error per complete response is that close, not a failure: counted apart.
    const eofAfterResponse = closeUnannounced ? Math.min(w.read, w.requests) : 0;
    w.read -= eofAfterResponse;
    w.errors -= eofAfterResponse;
    // wrk counts a response of status >= 400 as a request and as an error; socket errors complete no request.
    const answered = w.requests + w.connect + w.read + w.write + w.timeout;
    const succeeded = w.requests - w.status;
    Object.assign(rec, {
      // req/s of successful responses only: a proxy answering errors fast must not look fast.
      rps: succeeded / (w.duration_us / 1e6),
      rpsAll: w.rps,
      requests: w.requests,
      succeeded,
      answered,
      durationS: w.duration_us / 1e6,
      mbPerS: w.bytes / (w.duration_us / 1e6) / 1e6,
      p50Ms: w.p50_us / 1000,
      p90Ms: w.p90_us / 1000,
      p99Ms: w.p99_us / 1000,
      p999Ms: w.p999_us / 1000,
      maxMs: w.lat_max_us / 1000,
      cpuS: cpuSeconds,
      cpuUsPerReq: w.requests > 0 ? (cpuSeconds * 1e6) / w.requests : null,
      peakRssMiB: peakKiB / 1024,
      hwmMiB: Math.max(hwmBefore, treeKiB(rootPid, 'VmHWM')) / 1024,
      errors: { connect: w.connect, read: w.read, write: w.write, status: w.status, timeout: w.timeout, total: w.errors },
      ...(closeUnannounced ? { closeUnannounced: true, eofAfterResponse } : {}),
      errorRate: w.errors / Math.max(answered, 1),
    });
    rec.flagged = rec.errorRate > ERROR_FLAG_RATE;
    if (proc?.exitInfo) throw new Error(`${target.name} exited during the run (${describeExit(proc.exitInfo)}); log:\n${tail(proc.logFile)}`);
    if (w.requests === 0) throw new Error('wrk completed no request');
    if (succeeded <= 0) throw new Error('wrk completed no successful request');
    if (rec.errorRate > 0.5) throw new Error(`mostly errors: ${w.errors} errors for ${w.requests} responses (${JSON.stringify(rec.errors)})`);
    rec.ok = true;
  } catch (error) {
    rec.error = error.message;
  } finally {
    if (proc) {
      const ended = await stopProcess(proc);
      rec.stop = describeStop(ended);
      if (target.kind === 'fairway' || target.kind === 'peer' || target.kind === 'ceiling') {
        const issues = logIssues(proc.logFile);
        if (issues) rec.logIssues = issues;
      }
    }
  }
  return rec;
}

function describeStop(ended) {
  if (ended.before) return `exited on its own (${describeExit(ended)})`;
  if (ended.needed) return `did not stop within ${STOP_GRACE_MS} ms of SIGTERM; SIGKILLed`;
  if (ended.signal === 'SIGTERM' || ended.code === 0) return 'clean';
  return describeExit(ended);
}

// ---------------------------------------------------------------------------------------------------------------
// Summaries

const METRICS = [
  { key: 'rps', title: 'req/s', better: 'higher' },
  { key: 'p50Ms', title: 'p50 ms', better: 'lower' },
  { key: 'p99Ms', title: 'p99 ms', better: 'lower' },
  { key: 'cpuUsPerReq', title: 'CPU µs/req', better: 'lower' },
  { key: 'peakRssMiB', title: 'peak RSS MiB', better: 'lower' },
];

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const midpointMs = (r) => (Date.parse(r.times.measure) + Date.parse(r.times.end)) / 2;

/**
 * nginx's figures at the moment a run was measured: interpolated in time between the nearest good nginx runs
 * before and after it (with A-B-A, the two runs bracketing it), or the nearer one when only one side exists.
 */
function nginxReference(run, nginxRuns) {
  const t = midpointMs(run);
  const before = nginxRuns.filter((n) => midpointMs(n) <= t).at(-1);
  const after = nginxRuns.find((n) => midpointMs(n) > t);
  if (!before && !after) return null;
  const ref = { before: before ? before.times.measure : null, after: after ? after.times.measure : null };
  for (const m of METRICS) {
    const a = before?.[m.key];
    const b = after?.[m.key];
    if (typeof a === 'number' && typeof b === 'number') {
      const ta = midpointMs(before);
      const w = (t - ta) / (midpointMs(after) - ta);
      ref[m.key] = a + (b - a) * w;
    } else {
      ref[m.key] = typeof a === 'number' ? a : typeof b === 'number' ? b : null;
    }
  }
  if (before && after) ref.drift = after.rps / before.rps; // how much nginx itself moved across the run
  return ref;
}

/** Gives every good run its nginx reference and, for a target on a runtime with a ceiling, its ratio to that ceiling. */
function attachReferences(runs) {
  const nginxRuns = runs.filter((r) => r.target === BASELINE && r.ok).sort((a, b) => midpointMs(a) - midpointMs(b));
  for (const r of runs) {
    if (!r.ok) continue;
    r.nginxRef = r.target === BASELINE ? null : nginxReference(r, nginxRuns);
    r.toNginx = {};
    for (const m of METRICS) r.toNginx[m.key] = r.nginxRef?.[m.key] ? r[m.key] / r.nginxRef[m.key] : null;
  }
  for (const r of runs) {
    if (!r.ok || !r.runtime || r.kind === 'ceiling') continue;
    // Each side normalised by the nginx measured around it, so drift between the two runs cancels.
    const c = runs.find((x) => x.ok && x.round === r.round && x.target === ceilingName(r.runtime));
    if (!c) continue;
    r.toCeiling = {};
    for (const m of METRICS) {
      const mine = r.toNginx[m.key] ?? null;
      const theirs = c.toNginx[m.key] ?? null;
      r.toCeiling[m.key] = mine !== null && theirs ? mine / theirs : c[m.key] ? r[m.key] / c[m.key] : null;
    }
  }
}

function summarize(runs, targets) {
  return targets.map((t) => {
    const mine = runs.filter((r) => r.target === t.name);
    const good = mine.filter((r) => r.ok);
    const row = { target: t.name, label: t.label, kind: t.kind, runtime: t.runtime ?? null, runs: mine.length, okRuns: good.length };
    for (const m of METRICS) {
      const values = good.map((r) => r[m.key]).filter((v) => v !== null && v !== undefined);
      const ratios = good.map((r) => r.toNginx?.[m.key]).filter((v) => typeof v === 'number');
      const toCeiling = good.map((r) => r.toCeiling?.[m.key]).filter((v) => typeof v === 'number');
      row[m.key] = values.length
        ? {
          median: median(values),
          min: Math.min(...values),
          max: Math.max(...values),
          ratioToNginx: t.name === BASELINE ? 1 : median(ratios),
          ratios,
          ratioToCeiling: median(toCeiling),
          ceilingRatios: toCeiling,
        }
        : null;
    }
    const requests = good.reduce((s, r) => s + (r.answered ?? r.requests), 0);
    const errors = good.reduce((s, r) => s + r.errors.total, 0);
    row.requests = requests;
    row.errors = errors;
    row.flaggedRuns = good.filter((r) => r.flagged).length;
    row.failures = mine.filter((r) => !r.ok).map((r) => `round ${r.round + 1}: ${firstLine(r.error)}`);
    return row;
  });
}

const firstLine = (s) => String(s ?? '').split('\n')[0];

// ---------------------------------------------------------------------------------------------------------------
// Output

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
function fmtNum(n) {
  if (n === null || n === undefined) return '—';
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}
const fmtRatio = (r) => (r === null || r === undefined ? 'n/a' : `${r.toFixed(2)}×`);

function markdownTable(summary) {
  const lines = [
    '| target | req/s median (min–max) | ×nginx | ×ceiling | p50 ms | ×nginx | p99 ms | ×nginx | ×ceiling | CPU µs/req | ×nginx | peak RSS MiB | ×nginx | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of summary) {
    if (!row.rps) {
      lines.push(`| ${row.target} | failed | | | | | | | | | | | | ${row.failures.join('; ').replaceAll('|', '\\|').slice(0, 200)} |`);
      continue;
    }
    const cell = (key, fmt = fmtNum) => (row[key] ? fmt(row[key].median) : '—');
    const ratio = (key) => (row[key] ? fmtRatio(row[key].ratioToNginx) : '—');
    const toCeiling = (key) => (row[key]?.ratioToCeiling != null ? fmtRatio(row[key].ratioToCeiling) : '—');
    const rps = `${fmtInt(row.rps.median)} (${fmtInt(row.rps.min)}–${fmtInt(row.rps.max)})`;
    const errs = row.errors === 0 ? '0' : `${row.errors} (${((100 * row.errors) / Math.max(row.requests, 1)).toFixed(2)}%)`;
    const flagged = row.flaggedRuns ? ` ⚠ ${row.flaggedRuns} run(s) over ${ERROR_FLAG_RATE * 100}% errors` : '';
    const failed = row.failures.length ? ` ⚠ ${row.failures.length} failed run(s)` : '';
    lines.push(
      `| ${row.target} | ${rps} | ${ratio('rps')} | ${toCeiling('rps')} | ${cell('p50Ms')} | ${ratio('p50Ms')} | ${cell('p99Ms')} | ${ratio('p99Ms')} | ${
        toCeiling('p99Ms')
      } | ${cell('cpuUsPerReq')} | ${ratio('cpuUsPerReq')} | ${cell('peakRssMiB')} | ${ratio('peakRssMiB')} | ${errs}${flagged}${failed} |`,
    );
  }
  return lines.join('\n');
}

function markdownReport(report) {
  const m = report.machine;
  const out = [
    `# Fairway benchmark${report.settings.quick ? ' (quick smoke run)' : ''}`,
    '',
    `${report.date} · ${m.nproc} CPUs (${m.cpuModel}) · Linux ${m.kernel} · git ${report.git}`,
    '',
    `Runtimes: Node ${m.versions.node20 ?? '—'} and ${m.versions.node26 ?? '—'}, Deno ${m.versions.deno ?? '—'}, Bun ${m.versions.bun ?? '—'} · nginx ${
      m.versions.nginx ?? '—'
    } · HAProxy ${m.versions.haproxy ?? '—'} · wrk ${m.versions.wrk ?? '—'}.`,
    `Backends: ${report.backends.fast} for small/large/conns/post; ${report.backends.slow} for slow. ${report.settings.rounds} round(s) per scenario, each target once per round in rotated order, ${report.settings.warmupS} s warm-up then ${report.settings.durationS} s measured.`,
    '',
    `nginx-as-proxy runs before the first target of each round and after every ${
      report.settings.nginxEvery >= report.targets.length
        ? 'round'
        : report.settings.nginxEvery === 1
        ? 'target (A-B-A)'
        : `${report.settings.nginxEvery} targets`
    }. Every ×nginx column is the median over rounds of (target ÷ nginx interpolated in time between the nginx runs around it). ×ceiling is the same ratio for the target divided by that of its runtime’s minimal proxy (\`ceiling-*\`, bench/ceilings/) in the same round. req/s: higher is better; latency, CPU and RSS: lower is better.`,
    `req/s counts successful responses only (status < 400); a run with more than ${
      ERROR_FLAG_RATE * 100
    }% errors (socket errors and status ≥ 400) is flagged ⚠.`,
    'CPU µs/req is user+system time of the proxy’s whole process tree (all threads and child processes; nginx master+worker) divided by requests completed. Peak RSS is the largest sum of VmRSS over that tree, sampled every 100 ms during the measured run.',
    'For `direct`, CPU and RSS are those of the backend itself. The machine is shared and noisy: compare ratios, not absolute numbers, and read min–max as the noise.',
  ];
  for (const [name, s] of Object.entries(report.scenarios)) {
    out.push('', `## ${name} — ${s.description}`, '', markdownTable(s.summary));
    const notes = s.summary.filter((r) => r.failures.length).map((r) => `- ${r.target}: ${r.failures.join('; ')}`);
    if (notes.length) out.push('', 'Failed runs:', '', ...notes);
    const unannounced = [...new Set(s.runs.filter((r) => r.closeUnannounced).map((r) => r.target))];
    if (unannounced.length) {
      out.push(
        '',
        `Answered a request carrying \`Connection: close\` without \`Connection: close\` (RFC 9112 §9.6 says it SHOULD), then closed: ${
          unannounced.join(', ')
        }. wrk counts each such close as a read error; those (one per complete response at most) are left out of the errors column.`,
      );
    }
  }
  if (report.issues.length) {
    out.push('', '## Warnings and errors logged by the proxies under test', '');
    out.push('While serving = before the target logged its "shutdown" event (SIGTERM after the measured run); at shutdown = after it.', '');
    for (const i of report.issues) {
      const example = (i.samples[0] ?? i.shutdownSamples[0] ?? '').replaceAll('`', "'").slice(0, 300);
      out.push(`- ${i.target} (${i.scenario}, round ${i.round + 1}): ${i.count} while serving, ${i.atShutdown} at shutdown; e.g. \`${example}\``);
    }
  }
  if (report.skipped.length) {
    out.push('', '## Skipped targets', '', ...report.skipped.map((s) => `- ${s.target}: missing ${s.missing}`));
  }
  return `${out.join('\n')}\n`;
}

function consoleRow(rec, label) {
  if (!rec.ok) {
    return `  ✗ ${rec.target.padEnd(26)} ${firstLine(rec.error)}${rec.stop && rec.stop !== 'clean' ? ` [stop: ${rec.stop}]` : ''}${
      rec.logIssues ? ` log: ${rec.logIssues.count} warn/error while serving, ${rec.logIssues.atShutdown} at shutdown` : ''
    }`;
  }
  const err = rec.errors.total ? ` errors=${rec.errors.total}${rec.flagged ? ` ⚠ ${(rec.errorRate * 100).toFixed(1)}%` : ''}` : '';
  const issues = rec.logIssues ? ` log: ${rec.logIssues.count} warn/error while serving, ${rec.logIssues.atShutdown} at shutdown` : '';
  const stop = rec.stop && rec.stop !== 'clean' ? ` [stop: ${rec.stop}]` : '';
  return `  ✓ ${rec.target.padEnd(26)} ${fmtInt(rec.rps).padStart(8)} req/s  p50 ${fmtNum(rec.p50Ms).padStart(5)} ms  p99 ${
    fmtNum(rec.p99Ms).padStart(5)
  } ms  cpu ${fmtNum(rec.cpuUsPerReq).padStart(5)} µs/req  rss ${fmtNum(rec.peakRssMiB).padStart(5)} MiB${err}${issues}${stop}${label}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Steps (--steps): what each step the issues require costs on its runtime, against its ceiling and against Fairway

const STEP_RUNTIME_ORDER = ['node20', 'node26', 'deno', 'bun'];

/** Median, min and max of the finite numbers in a list (and the list), or null when there are none. */
function spread(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? { median: median(v), min: Math.min(...v), max: Math.max(...v), values: v } : null;
}

/**
 * One row per target of a runtime's steps run, ceiling first and Fairway last: req/s and CPU per request as ratios to
 * the ceiling in the same round (as everywhere in run.mjs), and the CPU µs per request the target adds to the ceiling's
 * in its round: what a step costs, read apart from how loaded the machine was in that round.
 */
function stepsRows(runs, runtimeId) {
  const ceiling = ceilingName(runtimeId);
  const fairway = `fairway-${runtimeId}-rr`;
  const stepNames = [...new Set(runs.filter((r) => r.target.startsWith(`steps-${runtimeId}-`)).map((r) => r.target))];
  const form = stepForm(runtimeId);
  const ceilingRuns = runs.filter((r) => r.ok && r.target === ceiling).sort((a, b) => midpointMs(a) - midpointMs(b));
  return [ceiling, ...stepNames, fairway].map((name) => {
    const all = runs.filter((r) => r.target === name);
    const mine = all.filter((r) => r.ok);
    // The ceiling as it ran around each run, interpolated in time as nginx is elsewhere in run.mjs.
    const refs = mine.map((r) => (name === ceiling ? r : nginxReference(r, ceilingRuns)));
    const ratio = (key) => mine.map((r, i) => (refs[i]?.[key] ? r[key] / refs[i][key] : null));
    const step = name.startsWith('steps-') ? name.slice(`steps-${runtimeId}-`.length) : null;
    const what = name === ceiling
      ? 'the ceiling alone (bench/ceilings/)'
      : name === fairway
      ? 'Fairway, default configuration (ALGORITHM=round_robin, access log on)'
      : step === 'required'
      ? `all of: ${requiredSteps(form).join(', ')}`
      : PROXY_STEPS[step]?.extends
      ? `${PROXY_STEPS[step].extends} + ${PROXY_STEPS[step][form]}`
      : mine.length && mine.every((r) => r.times?.start < PROXY_STEPS[step]?.before?.date)
      ? PROXY_STEPS[step].before[form] // runs of the step's earlier form
      : PROXY_STEPS[step]?.[form] ?? `STEPS=${stepVariantText(runs, name)}`;
    return {
      target: name,
      step,
      what,
      requiredBy: step && step !== 'required' ? PROXY_STEPS[step]?.requiredBy ?? null : null,
      rounds: mine.length,
      rps: spread(mine.map((r) => r.rps)),
      rpsToCeiling: spread(ratio('rps')),
      cpuUsPerReq: spread(mine.map((r) => r.cpuUsPerReq)),
      cpuToCeiling: spread(ratio('cpuUsPerReq')),
      addedCpuUs: name === ceiling ? null : spread(mine.map((r, i) => (refs[i]?.cpuUsPerReq ? r.cpuUsPerReq - refs[i].cpuUsPerReq : null))),
      // Memory: resident before any load (older runs lack it), the peak under load, and that peak over the ceiling's.
      idleRssMiB: spread(mine.map((r) => r.idleRssMiB)),
      peakRssMiB: spread(mine.map((r) => r.peakRssMiB)),
      addedPeakRssMiB: name === ceiling ? null : spread(mine.map((r, i) => (refs[i]?.peakRssMiB ? r.peakRssMiB - refs[i].peakRssMiB : null))),
      ceilingRps: name === ceiling ? spread(mine.map((r) => r.rps)) : undefined,
      failures: all.filter((r) => !r.ok).map((r) => `round ${r.round + 1}: ${firstLine(r.error)}`),
    };
  });
}

/** The STEPS an A-B variant ran with (kept on its runs). */
const stepVariantText = (runs, name) => runs.find((r) => r.target === name)?.steps ?? '?';

const fmtSpread = (x, fmt = (n) => n.toFixed(2)) => (x ? `${fmt(x.median)} (${fmt(x.min)}–${fmt(x.max)})` : '—');
const fmtUs = (n) => (Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtMiB = (n) => String(Math.round(n) || 0); // never "-0"
/** Issue 12's peak RSS targets under load (small scenario), MiB; Node 20 has none. */
const PEAK_RSS_TARGET_MIB = { node26: 100, deno: 100, bun: 64 };

function stepsMarkdown(entries) {
  const out = [
    '# What the required steps cost, per runtime (`node bench/run.mjs --steps RUNTIME`)',
    '',
    "Issue 12's primary target is Fairway ≥ 0.85× its own runtime's minimal proxy (the ceiling, `bench/ceilings/`) in the small",
    'scenario. The ceiling does none of what the issues require of Fairway. This run adds those steps to the ceiling, one at a time',
    'and all together (`bench/repro/proxy-steps.mjs` on Deno and Bun, `proxy-steps-node.mjs` on Node; each step and the issue that',
    'requires it: `proxy-steps-common.mjs`), and measures them with the ceiling and Fairway in the same interleaved rounds.',
    '',
    '- The ceiling runs first and after every few targets, in the order of each round (rotated round to round); each run is compared',
    '  with the ceiling interpolated in time between the ceiling runs around it, as run.mjs does with nginx (no nginx here).',
    "- req/s ×ceiling: the target's req/s ÷ that ceiling's, median (min–max) over rounds.",
    "- + CPU µs/req: the target's CPU per request (whole process tree, user+system) minus that ceiling's, median (min–max).",
    '- The machine is shared and noisy: read min–max as the noise; a single step under about 10 µs is within it.',
    "- If the ceiling plus the required steps alone stays below 0.85×, the target is out of reach on that runtime's APIs, whatever",
    "  Fairway's own code does; Fairway's CPU above the ceiling-plus-required row is what its own code costs.",
    "- Memory ladder: idle RSS is the process tree's VmRSS 1 s after it answered its readiness path, before any load (runs before",
    '  session 11 lack it); peak RSS is the largest VmRSS sampled every 100 ms during the measured run, and + peak MiB that minus the',
    "  ceiling's (interpolated as above). `libs` is `required` plus the libraries the architecture rules require, as Fairway loads and",
    "  uses them. Issue 12's targets: peak RSS ≤ 100 MiB on Node 26 and Deno, ≤ 64 on Bun.",
  ];
  for (const runtimeId of STEP_RUNTIME_ORDER) {
    const e = entries[runtimeId];
    if (!e) continue;
    const rows = e.rows;
    const required = rows.find((r) => r.step === 'required');
    const fairway = rows.find((r) => r.target.startsWith('fairway-'));
    const libs = rows.find((r) => r.step === 'libs');
    const singles = rows.filter((r) => r.step && r.step !== 'required' && !PROXY_STEPS[r.step]?.extends && r.addedCpuUs);
    const sum = singles.reduce((a, r) => a + r.addedCpuUs.median, 0);
    out.push(
      '',
      `## ${e.label}`,
      '',
      `${e.date} · git ${e.git} · scenario ${e.scenario} · ${
        e.rounds ?? e.settings.rounds
      } rounds, ${e.settings.warmupS} s warm-up + ${e.settings.durationS} s measured per run, ceiling after every ${e.settings.nginxEvery} targets · ceiling ${
        fmtSpread(rows[0]?.ceilingRps, fmtInt)
      } req/s${e.settings.v8Flags?.length ? ` · V8 flags ${e.settings.v8Flags.map((f) => `\`${f}\``).join(' ')}` : ''}`,
      '',
      `**Ceiling + required steps: ${fmtSpread(required?.rpsToCeiling)}× the ceiling; Fairway: ${fmtSpread(fairway?.rpsToCeiling)}×** (target ≥ 0.85).`,
      ...(rows.some((r) => r.peakRssMiB)
        ? [
          `Peak RSS, MiB: ${
            [rows[0], required, libs, fairway].filter((r) => r?.peakRssMiB).map((r) =>
              `${r === libs ? 'required + libs' : r.step ?? r.target.split('-')[0]} ${fmtSpread(r.peakRssMiB, fmtMiB)}`
            )
              .join(', ')
          }${PEAK_RSS_TARGET_MIB[runtimeId] ? ` (target ≤ ${PEAK_RSS_TARGET_MIB[runtimeId]})` : ''}.`,
        ]
        : []),
      `CPU per request over the ceiling's: required steps +${required?.addedCpuUs ? fmtUs(required.addedCpuUs.median) : '—'} µs, Fairway +${
        fairway?.addedCpuUs ? fmtUs(fairway.addedCpuUs.median) : '—'
      } µs${singles.length ? `; the single steps' medians sum to +${fmtUs(sum)} µs` : ''}.`,
      '',
      '| target | what it adds | req/s ×ceiling | CPU µs/req | + CPU µs/req | CPU ×ceiling | idle RSS MiB | peak RSS MiB | + peak MiB | required by |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    for (const r of rows) {
      const failed = r.failures.length ? ` ⚠ ${r.failures.length} failed run(s)` : '';
      out.push(
        `| ${r.target} | ${r.what} | ${fmtSpread(r.rpsToCeiling)} | ${fmtSpread(r.cpuUsPerReq, fmtUs)} | ${
          r.target.startsWith('ceiling-') ? '—' : fmtSpread(r.addedCpuUs, fmtUs)
        } | ${fmtSpread(r.cpuToCeiling)} | ${fmtSpread(r.idleRssMiB, fmtMiB)} | ${fmtSpread(r.peakRssMiB, fmtMiB)} | ${
          r.target.startsWith('ceiling-') ? '—' : fmtSpread(r.addedPeakRssMiB, fmtMiB)
        } | ${r.requiredBy ?? ''}${failed} |`,
      );
    }
    // Why the target is out of reach there and what the runtime would need (profiles; proxy-steps-common.mjs).
    if (STEP_NOTES[runtimeId] && !e.ab) out.push('', ...STEP_NOTES[runtimeId].map((line) => `- ${line}`));
  }
  return `${out.join('\n')}\n`;
}

/**
 * Replaces the measured runtimes' sections of bench/results/steps.json (others keep their last run), or with `append`
 * adds this run's rounds to theirs (more rounds without one locked run growing long), and renders steps.md.
 */
function writeStepsReport(report, runtimeIds, append, abName = null) {
  const file = path.join(RESULTS_DIR, abName ? `steps.${abName}.json` : 'steps.json');
  let data = { runtimes: {} };
  try {
    if (!abName) data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    // First steps run: nothing to merge.
  }
  const [scenarioName, scenario] = Object.entries(report.scenarios)[0];
  const runs = scenario.runs;
  for (const runtimeId of runtimeIds) {
    const runtimeLabel = FAIRWAY_RUNTIMES({ [runtimeId]: { version: report.machine.versions[runtimeId] } }).find((r) => r.id === runtimeId).label;
    const earlier = append ? data.runtimes[runtimeId] : undefined;
    const offset = earlier ? (earlier.rounds ?? earlier.settings.rounds) : 0;
    // Rounds numbered on from the earlier runs'; ceilings are interpolated by time, so runs from both stay apart.
    const mine = [...(earlier?.runs ?? []), ...runs.filter((r) => r.runtime === runtimeId).map((r) => ({ ...r, round: r.round + offset }))];
    data.runtimes[runtimeId] = {
      label: runtimeLabel,
      date: earlier ? `${earlier.date}, ${report.date}` : report.date,
      git: earlier && earlier.git !== report.git ? `${earlier.git}, ${report.git}` : report.git,
      scenario: scenarioName,
      settings: report.settings,
      rounds: offset + report.settings.rounds,
      rows: stepsRows(mine, runtimeId),
      runs: mine,
      ...(abName ? { ab: true } : {}),
    };
  }
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, abName ? `steps.${abName}.md` : 'steps.md'), stepsMarkdown(data.runtimes));
}

// ---------------------------------------------------------------------------------------------------------------
// Main

function machineInfo(tools) {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const somaxconn = (() => {
    try {
      return Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    } catch {
      return null;
    }
  })();
  return {
    nproc: Number(capture('nproc', [])) || os.availableParallelism(),
    cpuModel: (cpuinfo.match(/^model name\s*:\s*(.+)$/m) ?? [])[1]?.trim() ?? 'unknown',
    kernel: os.release(),
    kernelVersion: os.version(),
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadAvgAtStart: os.loadavg(),
    clkTck: CLK_TCK,
    somaxconn,
    fdLimit,
    versions: {
      harnessNode: process.versions.node,
      node20: tools.node20?.version ?? null,
      node26: tools.node26?.version ?? null,
      deno: tools.deno?.version ?? null,
      bun: tools.bun?.version ?? null,
      nginx: tools.nginx?.version ?? null,
      haproxy: tools.haproxy?.version ?? null,
      wrk: tools.wrk?.version ?? null,
      'http-proxy': packageVersion('http-proxy'),
      '@fastify/http-proxy': packageVersion('@fastify/http-proxy'),
      fastify: packageVersion('fastify'),
      httpxy: packageVersion('httpxy'),
    },
  };
}

function gitDescribe() {
  const head = capture('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = capture('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src']) ? ' (src/ modified)' : '';
  return /^[0-9a-f]+$/.test(head) ? `${head}${dirty}` : 'unknown';
}

/**
 * One round's run order: the other targets in rotated order, with nginx-as-proxy run first and then after every
 * `nginxEvery` targets (A-B-A with the default 1), so each target's ratio compares it with nginx measured right
 * around it rather than minutes away on a machine whose speed drifts.
 */
function schedule(targets, round, opts) {
  // The reference that brackets the others: nginx, or in a steps run the ceiling(s) the steps are measured against.
  const refs = opts.steps.length ? targets.filter((t) => t.kind === 'ceiling') : targets.filter((t) => t.name === BASELINE);
  const others = targets.filter((t) => !refs.includes(t));
  const order = rotate(others, Math.ceil((round * others.length) / opts.rounds));
  if (opts.alternateBase) orderBaseTwins(order, round);
  if (refs.length === 0) return order;
  const out = [...refs];
  for (let i = 0; i < order.length; i += opts.nginxEvery) out.push(...order.slice(i, i + opts.nginxEvery), ...refs);
  return out;
}

/**
 * --alternate-base: in even rounds each target runs before its `-base` twin, in odd rounds after it (the two swap
 * places when needed), so over an even number of rounds neither build always runs first.
 */
function orderBaseTwins(order, round) {
  for (let i = 0; i < order.length; i++) {
    const j = order.findIndex((twin) => twin.name === `${order[i].name}-base`);
    if (j !== -1 && (round % 2 === 0) !== (i < j)) [order[i], order[j]] = [order[j], order[i]];
  }
}

function rotate(list, by) {
  const n = list.length;
  if (n === 0) return list;
  const k = ((by % n) + n) % n;
  return [...list.slice(k), ...list.slice(0, k)];
}

async function main() {
  const started = Date.now();
  const opts = parseArgs(process.argv.slice(2));
  keepTmp = opts.keepTmp;
  const variants = [...FAIRWAY_VARIANTS, ...opts.variants];

  if (opts.stepsRender) {
    // Rows are made again from the stored runs, so a column added since (the memory ladder's) shows for older runs too.
    const name = ['latest', 'custom'].includes(opts.out) ? 'steps' : `steps.${opts.out}`;
    const data = JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, `${name}.json`), 'utf8'));
    for (const [runtimeId, e] of Object.entries(data.runtimes)) e.rows = stepsRows(e.runs, runtimeId);
    fs.writeFileSync(path.join(RESULTS_DIR, `${name}.md`), stepsMarkdown(data.runtimes));
    return 0;
  }
  if (opts.list) {
    const tools = {
      ...findRuntimes(),
      wrk: which('wrk') && { path: which('wrk') },
      nginx: which('nginx') && { path: which('nginx') },
      haproxy: which('haproxy') && { path: which('haproxy') },
    };
    console.log('Scenarios:');
    for (const [n, s] of Object.entries(SCENARIOS)) console.log(`  ${n.padEnd(8)} ${s.desc}`);
    console.log('Targets:');
    for (const t of buildTargets(tools, variants, opts.baselineRoot, opts.steps, opts.stepVariants)) {
      console.log(`  ${t.name.padEnd(26)} ${t.label}${t.missing ? `  [missing ${t.missing}]` : ''}${QUICK_TARGETS.includes(t.name) ? '  (quick)' : ''}`);
    }
    return 0;
  }

  const fd = computeFdLimit();
  fdLimit = fd.children;
  const tools = { ...ensureSystemTools(opts.install), ...findRuntimes() };
  const needFds = Math.max(...opts.scenarios.map((s) => SCENARIOS[s].connections)) * 2 + 200;
  if (fdLimit < needFds) {
    console.warn(
      `bench: open-file limit for children is ${fdLimit} (hard ${fd.hard}); scenarios with many connections need about ${needFds} and may show errors. Raise it with ulimit -n (as root) first.`,
    );
  }

  let targets = buildTargets(tools, variants, opts.baselineRoot, opts.steps, opts.stepVariants);
  const skipped = targets.filter((t) => t.missing).map((t) => ({ target: t.name, missing: t.missing }));
  for (const s of skipped) console.warn(`bench: skipping ${s.target}: missing ${s.missing}`);
  targets = targets.filter((t) => !t.missing);
  if (opts.quick) targets = targets.filter((t) => QUICK_TARGETS.includes(t.name));
  if (opts.steps.length) {
    const mine = (name) => opts.steps.some((r) => name === ceilingName(r) || name === `fairway-${r}-rr` || name.startsWith(`steps-${r}-`));
    targets = targets.filter((t) => mine(t.name));
  }
  if (opts.targets) targets = targets.filter((t) => t.name === BASELINE || opts.targets.test(t.name));
  if (targets.length === 0) fail('no target to run');

  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fairway-bench-'));
  fs.chmodSync(tmpDir, 0o755); // nginx workers run as nobody and must read the backend's files
  const machine = machineInfo({ ...tools });
  machine.fdLimit = fdLimit;
  const backendProcs = [];
  const backends = await startBackends(tools, tmpDir, backendProcs);
  const ctx = { opts, tools, tmp: tmpDir, backends, wrkScripts: writeWrkScripts(tmpDir) };

  const perRun = opts.warmup + opts.duration + 2;
  const runsPerRound = schedule(targets, 0, opts).length;
  const estimate = Math.round((opts.scenarios.length * opts.rounds * runsPerRound * perRun) / 60);
  console.log(
    `bench: ${targets.length} targets (${runsPerRound} runs a round, ${
      opts.steps.length ? 'ceiling runs' : 'nginx'
    } included) × ${opts.scenarios.length} scenario(s) × ${opts.rounds} round(s), ${opts.warmup}+${opts.duration} s each (≈${estimate} min)`,
  );
  console.log(`bench: backends ${backends.fast.kind} at ${backends.fast.urls.join(', ')}; slow ${backends.slow.urls.join(', ')}`);

  const report = {
    date: new Date().toISOString(),
    git: gitDescribe(),
    machine,
    settings: {
      quick: opts.quick,
      scenarios: opts.scenarios,
      rounds: opts.rounds,
      nginxEvery: opts.nginxEvery,
      alternateBase: opts.alternateBase,
      nginxMinKeepalive: NGINX_MIN_KEEPALIVE,
      errorFlagRate: ERROR_FLAG_RATE,
      durationS: opts.duration,
      warmupS: opts.warmup,
      wrkThreads: 1,
      wrkTimeoutS: WRK_TIMEOUT_S,
      rssSampleMs: RSS_SAMPLE_MS,
      baseline: BASELINE,
      ...(opts.v8Flags.length ? { v8Flags: opts.v8Flags } : {}),
    },
    backends: { fast: backends.fast.kind, slow: backends.slow.kind },
    targets: targets.map((t) => ({ name: t.name, label: t.label, kind: t.kind })),
    skipped,
    scenarios: {},
    issues: [],
  };

  const allRuns = [];
  for (const scenarioName of opts.scenarios) {
    const runs = [];
    console.log(`\n== ${scenarioName}: ${SCENARIOS[scenarioName].desc}`);
    for (let round = 0; round < opts.rounds; round++) {
      const order = schedule(targets, round, opts);
      console.log(` round ${round + 1}/${opts.rounds}`);
      for (const target of order) {
        if (interrupted) return 130;
        const rec = await runOne(ctx, target, scenarioName, round);
        runs.push(rec);
        // Only the nginx run before is known yet; the tables use both sides (see nginxReference).
        const base = runs.findLast((r) => r.target === BASELINE && r.ok);
        const label = rec.ok && base && target.name !== BASELINE ? `  (${fmtRatio(rec.rps / base.rps)} nginx-before req/s)` : '';
        console.log(consoleRow(rec, label));
        if (rec.logIssues) {
          report.issues.push({ target: target.name, scenario: scenarioName, round, ...rec.logIssues });
          for (const s of rec.logIssues.samples.slice(0, 2)) console.log(`      while serving: ${s.slice(0, 300)}`);
          if (rec.logIssues.count === 0) { for (const s of rec.logIssues.shutdownSamples.slice(0, 1)) console.log(`      at shutdown: ${s.slice(0, 300)}`); }
        }
        for (const b of [backends.fast.proc, backends.slow.proc]) {
          if (b.exitInfo) throw new Error(`backend ${b.name} died (${describeExit(b.exitInfo)}); log:\n${tail(b.logFile)}`);
        }
      }
    }
    attachReferences(runs);
    const summary = summarize(runs, targets);
    report.scenarios[scenarioName] = {
      description: SCENARIOS[scenarioName].desc,
      params: { ...SCENARIOS[scenarioName] },
      summary,
      runs: runs.map(({ logFile: _logFile, ...r }) => r),
    };
    allRuns.push(...runs);
    console.log(`\n${markdownTable(summary)}`);
  }
  report.durationS = Math.round((Date.now() - started) / 1000);

  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  if (opts.steps.length && (opts.targets || opts.stepVariants.length)) {
    writeStepsReport(report, opts.steps, false, opts.out);
    console.log(`\nbench: wrote the A-B to bench/results/steps.${opts.out}.json and .md in ${report.durationS} s (steps.json left alone)`);
  } else if (opts.steps.length) {
    writeStepsReport(report, opts.steps, opts.stepsAppend);
    console.log(`\nbench: merged ${opts.steps.join(', ')} into bench/results/steps.json and steps.md in ${report.durationS} s`);
  } else {
    const stem = opts.out;
    fs.writeFileSync(path.join(RESULTS_DIR, `${stem}.json`), `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(path.join(RESULTS_DIR, `${stem}.md`), markdownReport(report));
    console.log(`\nbench: wrote bench/results/${stem}.json and ${stem}.md in ${report.durationS} s`);
  }

  for (const b of backendProcs) await stopProcess(b);

  const failedRuns = allRuns.filter((r) => !r.ok);
  if (failedRuns.length) {
    console.error(`bench: ${failedRuns.length} run(s) failed:`);
    for (const r of failedRuns) console.error(`  ${r.scenario} round ${r.round + 1} ${r.target}: ${firstLine(r.error)}`);
    return 1;
  }
  if (opts.quick) console.log(`bench: quick check passed: every target answered (${targets.map((t) => t.name).join(', ')})`);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`bench: ${error?.stack ?? error}`);
  code = 1;
} finally {
  await cleanupAll();
}
process.exit(code);
