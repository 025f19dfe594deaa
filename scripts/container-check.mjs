#!/usr/bin/env node
/**
 * Replays the Dockerfile without Docker, so CI runs the commands the image runs.
 *
 * No Docker engine runs in CI, so this script reads the Dockerfile and does what the image does:
 *   - copies what its COPY lines copy (honouring .dockerignore) into a temporary root filesystem,
 *   - runs its RUN lines there with `node` being Node from the node@<major> devDependency
 *     (node_modules/node/bin/node, linked in as /usr/local/bin/node, where the image has its node),
 *   - checks that no devDependency made it into the production node_modules,
 *   - starts the CMD with the image's ENV (plus a free PORT; BACKEND_SERVERS unset, so demo mode),
 *     as USER's uid when run as root, and waits for it to listen,
 *   - runs the HEALTHCHECK command and requires exit 0 (and non-zero while nothing listens),
 *   - sends requests through the balancer and requires 200 from a demo backend,
 *   - sends SIGTERM (or STOPSIGNAL) to the exact PID and requires exit 0 within docker stop's 10 s,
 *   - requires that the first start takes every TypeScript module from the compile cache the build filled
 *     (ENV NODE_COMPILE_CACHE; read from Node's NODE_DEBUG_NATIVE=COMPILE_CACHE output) and leaves it as it was,
 *     and, last, that an entrypoint edited after the build is stripped again and still starts.
 * Absolute paths into the image in ENV values and exec-form RUN arguments (e.g. /app/.node-compile-cache) are
 * mapped into the temporary root filesystem.
 * Because everything is read from the Dockerfile, a change there is exercised here, and a form this
 * script cannot replay (ADD, ARG, ENTRYPOINT, multi-stage, $VARIABLES, ...) fails loudly instead of
 * being skipped.
 *
 * Usage (after `npm ci` in the repo): node scripts/container-check.mjs
 * Prints one PASS/FAIL line per check and ends with `container-check: N passed, M failed`; exits 1 on any failure.
 * It needs the npm registry (the RUN lines install production dependencies afresh) and loopback only.
 * Cleans up its temporary directory and the processes it started, also when interrupted.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeExit, freePort, killGroup } from './lib/processes.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DOCKERFILE = path.join(REPO, 'Dockerfile');
const DOCKERIGNORE = path.join(REPO, '.dockerignore');
const REPO_NODE = path.join(REPO, 'node_modules', 'node', 'bin', 'node');

const RUN_TIMEOUT_MS = 600_000;
const START_TIMEOUT_MS = 30_000;
/** `docker stop` waits 10 s after the stop signal before it sends SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 5_000;
/** Docker's default HEALTHCHECK --timeout. */
const DEFAULT_HEALTHCHECK_TIMEOUT_MS = 30_000;
/** Users that exist in the node images. */
const IMAGE_USERS = {
  root: { uid: 0, gid: 0, home: '/root' },
  node: { uid: 1000, gid: 1000, home: '/home/node' },
};
/** PATH in the node images. */
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const isRoot = process.getuid?.() === 0;

// ---------------------------------------------------------------- reporting

let passed = 0;
let failed = 0;
class StopChecks extends Error {}

/** Runs one check: prints `PASS  title (detail)` or `FAIL  title` with the reason indented below. */
async function check(title, fn, { required = false } = {}) {
  try {
    const detail = await fn();
    passed++;
    console.log(`PASS  ${title}${detail ? ` (${detail})` : ''}`);
    return true;
  } catch (error) {
    failed++;
    console.log(`FAIL  ${title}`);
    const message = error instanceof Error ? error.message : String(error);
    for (const line of message.split('\n')) console.log(`      ${line}`);
    if (required) {
      console.log('      (the remaining checks depend on this one, so they are not run)');
      throw new StopChecks();
    }
    return false;
  }
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const tail = (lines, n = 25) => {
  const shown = lines.slice(-n);
  return shown.length === 0 ? '  (no output)' : shown.map((l) => `  | ${l}`).join('\n');
};

// ---------------------------------------------------------------- Dockerfile parsing

/** Splits the Dockerfile into instructions: joins `\` continuations, drops comments and blank lines. */
function readInstructions(text) {
  const instructions = [];
  let current = null;
  let directives = true;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (directives) {
      const directive = /^#\s*([a-z]+)\s*=\s*(.*?)\s*$/i.exec(raw);
      if (directive) {
        if (directive[1].toLowerCase() === 'escape' && directive[2] !== '\\') {
          throw new Error(`line ${index + 1}: the escape directive is not supported here`);
        }
        return;
      }
      directives = false;
    }
    // Comment lines and blank lines are dropped, also in the middle of a continuation (as Docker does).
    if (trimmed === '' || trimmed.startsWith('#')) return;
    current ??= { line: index + 1, text: '' };
    const continues = /\\\s*$/.test(raw);
    current.text += continues ? raw.replace(/\\\s*$/, '') : raw;
    if (continues) return;
    instructions.push(current);
    current = null;
  });
  if (current) instructions.push(current);
  return instructions.map(({ line, text: body }) => {
    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(body);
    return { line, keyword: match[1].toUpperCase(), args: match[2].trim(), text: body.trim().replace(/\s+/g, ' ') };
  });
}

/** Leading `--name=value` flags, then the rest. */
function takeFlags(args) {
  const flags = {};
  let rest = args;
  for (;;) {
    const match = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
    if (!match) return { flags, rest };
    flags[match[1]] = match[2] ?? 'true';
    rest = rest.slice(match[0].length);
  }
}

/** Exec form (a JSON array of strings) or shell form, as Docker decides between them. */
function commandForm(args, what) {
  if (args.startsWith('[')) {
    let argv;
    try {
      argv = JSON.parse(args);
    } catch {
      throw new Error(
        `${what} starts with "[" but is not valid JSON, so Docker would silently run it as a shell string ` +
          `through /bin/sh -c; use double quotes: ${args}`,
      );
    }
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
      throw new Error(`${what} must be a non-empty JSON array of strings: ${args}`);
    }
    return { exec: argv, argv };
  }
  if (args === '') throw new Error(`${what} has no command`);
  return { shell: args, argv: ['/bin/sh', '-c', args] };
}

/** ENV's words: `KEY=value` pairs with "double" or 'single' quotes and \ escapes. */
function envWords(args) {
  const words = [];
  let word = null;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
      continue;
    }
    word ??= '';
    if (c === '\\' && i + 1 < args.length) {
      word += args[++i];
    } else if (c === '"' || c === "'") {
      const end = args.indexOf(c, i + 1);
      if (end === -1) throw new Error(`unterminated ${c} quote in ENV ${args}`);
      word += c === '"' ? args.slice(i + 1, end).replace(/\\(.)/g, '$1') : args.slice(i + 1, end);
      i = end;
    } else {
      word += c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** Docker durations such as 5s, 1m30s, 500ms. */
function durationMs(text) {
  const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_, n, unit) => {
    total += Number(n) * units[unit];
    return '';
  });
  if (rest !== '' || text === '') throw new Error(`cannot read the duration ${JSON.stringify(text)}`);
  return total;
}

const UNSUPPORTED = {
  ADD: 'use COPY',
  ARG: 'build arguments need $VARIABLE substitution',
  ENTRYPOINT: 'it changes how CMD and signals run',
  SHELL: 'it changes how shell-form commands run',
  ONBUILD: 'it is not part of this image',
};

/** Reads the Dockerfile into the steps to replay (COPY, RUN) and the image's runtime settings. */
function parseDockerfile(text) {
  const image = { from: null, workdir: '/', env: {}, user: 'root', expose: [], healthcheck: null, cmd: null };
  image.stopSignal = 'SIGTERM';
  const steps = [];
  const instructions = readInstructions(text);
  for (const ins of instructions) {
    const where = `Dockerfile line ${ins.line}: ${ins.keyword}`;
    const unsupported = (why) => {
      throw new Error(`${where} cannot be replayed by scripts/container-check.mjs (${why}); keep to simple forms or extend the script`);
    };
    if (ins.keyword in UNSUPPORTED) unsupported(UNSUPPORTED[ins.keyword]);
    if (['COPY', 'WORKDIR', 'ENV', 'USER', 'EXPOSE', 'STOPSIGNAL'].includes(ins.keyword) && ins.args.includes('$')) {
      unsupported('$VARIABLE substitution');
    }
    switch (ins.keyword) {
      case 'FROM': {
        if (image.from) unsupported('multi-stage builds');
        const { rest } = takeFlags(ins.args);
        image.from = rest.split(/\s+/)[0];
        break;
      }
      case 'WORKDIR':
        image.workdir = path.posix.resolve(image.workdir, ins.args);
        break;
      case 'COPY': {
        const { flags, rest } = takeFlags(ins.args);
        const other = Object.keys(flags).filter((f) => f !== 'link');
        if (other.length > 0) unsupported(`--${other.join(', --')}`);
        const words = rest.startsWith('[') ? commandForm(rest, 'COPY').argv : rest.split(/\s+/);
        if (words.length < 2) throw new Error(`${where} needs a source and a destination`);
        const sources = words.slice(0, -1);
        if (sources.some((s) => /[*?[]/.test(s))) unsupported('wildcards in sources');
        steps.push({ kind: 'COPY', ins, sources, dest: words.at(-1), workdir: image.workdir, user: image.user });
        break;
      }
      case 'RUN': {
        const { flags, rest } = takeFlags(ins.args);
        if (Object.keys(flags).length > 0) unsupported(`--${Object.keys(flags).join(', --')}`);
        steps.push({ kind: 'RUN', ins, command: commandForm(rest, 'RUN'), workdir: image.workdir, user: image.user, env: { ...image.env } });
        break;
      }
      case 'ENV': {
        const words = envWords(ins.args);
        if (words.length > 0 && !words[0].includes('=')) {
          // Legacy `ENV KEY value with spaces`.
          image.env[words[0]] = ins.args.slice(ins.args.indexOf(words[0]) + words[0].length).trim();
        } else {
          for (const word of words) {
            const eq = word.indexOf('=');
            if (eq < 1) throw new Error(`${where}: cannot read ${JSON.stringify(word)} as KEY=value`);
            image.env[word.slice(0, eq)] = word.slice(eq + 1);
          }
        }
        break;
      }
      case 'USER':
        image.user = ins.args;
        break;
      case 'EXPOSE':
        image.expose.push(...ins.args.split(/\s+/).map((p) => p.replace(/\/(tcp|udp)$/i, '')));
        break;
      case 'STOPSIGNAL':
        image.stopSignal = /^\d+$/.test(ins.args) ? Number(ins.args) : ins.args.toUpperCase().replace(/^(?!SIG)/, 'SIG');
        break;
      case 'HEALTHCHECK': {
        if (/^NONE$/i.test(ins.args)) {
          image.healthcheck = null;
          break;
        }
        const { flags, rest } = takeFlags(ins.args);
        if (!/^CMD\s/i.test(rest)) throw new Error(`${where} must be HEALTHCHECK [options] CMD command`);
        image.healthcheck = {
          ins,
          command: commandForm(rest.replace(/^CMD\s+/i, ''), 'HEALTHCHECK CMD'),
          timeoutMs: flags.timeout ? durationMs(flags.timeout) : DEFAULT_HEALTHCHECK_TIMEOUT_MS,
        };
        break;
      }
      case 'CMD':
        image.cmd = { ins, command: commandForm(ins.args, 'CMD'), workdir: image.workdir };
        break;
      case 'LABEL':
      case 'MAINTAINER':
      case 'VOLUME':
        break;
      default:
        unsupported('unknown instruction');
    }
  }
  if (!image.from) throw new Error('the Dockerfile has no FROM');
  if (!image.cmd) throw new Error('the Dockerfile has no CMD');
  return { image, steps, count: instructions.length };
}

// ---------------------------------------------------------------- .dockerignore

/** Docker's .dockerignore patterns: relative to the context root, `*`, `?`, `[...]`, `**`, and `!` exceptions. */
function readDockerignore() {
  if (!fs.existsSync(DOCKERIGNORE)) return [];
  return fs
    .readFileSync(DOCKERIGNORE, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      let pattern = path.posix.normalize((negate ? line.slice(1) : line).trim()).replace(/^\/+/, '').replace(/\/+$/, '');
      if (pattern === '.') pattern = '';
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === '*' && pattern[i + 1] === '*') {
          i++;
          if (pattern[i + 1] === '/') {
            i++;
            re += '(?:.*/)?';
          } else {
            re += '.*';
          }
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else if (c === '[' && pattern.indexOf(']', i + 1) > i + 1) {
          const end = pattern.indexOf(']', i + 1);
          re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
          i = end;
        } else if (c === '\\' && i + 1 < pattern.length) re += escapeRegExp(pattern[++i]);
        else re += escapeRegExp(c);
      }
      return { negate, regex: new RegExp(`^${re}$`) };
    });
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Whether a context-relative path is excluded: the last pattern matching it or one of its parent directories wins. */
function isIgnored(patterns, rel) {
  const parts = rel.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const { negate, regex } of patterns) {
    if (candidates.some((c) => regex.test(c))) ignored = !negate;
  }
  return ignored;
}

// ---------------------------------------------------------------- replaying the build

let tmp;
let rootfs;
const children = new Set();

/** Container path → path under the temporary root filesystem. */
const hostPath = (containerPath) => path.join(rootfs, containerPath);

function userOf(name) {
  const user = IMAGE_USERS[name.split(':')[0]];
  if (user) return user;
  if (/^\d+(:\d+)?$/.test(name)) {
    const [uid, gid = uid] = name.split(':').map(Number);
    return { uid, gid, home: '/' };
  }
  throw new Error(`USER ${name} is not a user of the node images (known: ${Object.keys(IMAGE_USERS).join(', ')})`);
}

/** spawn() options that run as the image's user: switched to when this script runs as root. */
function identity(userName) {
  const user = userOf(userName);
  if (!isRoot || user.uid === 0) return {};
  return { uid: user.uid, gid: user.gid };
}

function describeIdentity(userName) {
  const user = userOf(userName);
  if (isRoot || process.getuid?.() === user.uid) return `as uid ${user.uid}, USER ${userName}`;
  return `as uid ${process.getuid?.()}, this script's user: only root can switch to USER ${userName}'s uid ${user.uid}`;
}

function copyStep(step, patterns) {
  const destIsDir = step.dest.endsWith('/') || step.sources.length > 1;
  const dest = path.posix.resolve(step.workdir, step.dest);
  let copied = 0;
  let excluded = 0;
  const copyFile = (from, to) => {
    fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
    const stat = fs.lstatSync(from);
    if (stat.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else {
      fs.copyFileSync(from, to);
      fs.chmodSync(to, stat.mode & 0o7777);
    }
    copied++;
  };
  const walk = (rel, to) => {
    const from = path.join(REPO, rel);
    if (fs.lstatSync(from).isDirectory()) {
      // An excluded directory is skipped whole unless some `!` pattern could bring part of it back.
      if (rel !== '' && isIgnored(patterns, rel) && !patterns.some((p) => p.negate)) {
        excluded++;
        return;
      }
      fs.mkdirSync(to, { recursive: true, mode: 0o755 });
      for (const entry of fs.readdirSync(from).sort()) walk(path.posix.join(rel, entry), path.join(to, entry));
    } else if (isIgnored(patterns, rel)) {
      excluded++;
    } else {
      copyFile(from, to);
    }
  };
  for (const source of step.sources) {
    const rel = path.posix.normalize(source).replace(/^\.\/|\/$/g, '');
    if (rel === '..' || rel.startsWith('../') || path.posix.isAbsolute(rel)) throw new Error(`COPY ${source}: outside the build context`);
    const from = path.join(REPO, rel);
    if (!fs.existsSync(from)) throw new Error(`COPY ${source}: not found in the build context`);
    const isDir = fs.lstatSync(from).isDirectory();
    if (isIgnored(patterns, rel) && !isDir) throw new Error(`COPY ${source}: excluded by .dockerignore, so the image build would fail`);
    if (isDir) walk(rel === '.' ? '' : rel, hostPath(dest));
    else walk(rel, hostPath(destIsDir ? path.posix.join(dest, path.posix.basename(rel)) : dest));
  }
  if (copied === 0) throw new Error(`COPY copied no files (${excluded} paths excluded by .dockerignore)`);
  return `${copied} file${copied === 1 ? '' : 's'} to ${dest}${excluded ? `, ${excluded} paths left out by .dockerignore` : ''}`;
}

/**
 * A value that is an absolute path into the image's filesystem (its first directory exists in the temporary root,
 * e.g. /app/.node-compile-cache), as the path into the temporary root, so neither the build nor the app reads or
 * writes this machine's own /app. Other values as they are.
 */
function replayPath(value) {
  const top = /^\/[^/:]+/.exec(value)?.[0];
  return top && !value.includes(':') && fs.existsSync(hostPath(top)) ? hostPath(value) : value;
}

/** The image's ENV as this replay needs it: see replayPath. */
function replayEnv(env) {
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, replayPath(value)]));
}

/** Environment for RUN: this machine's (for registry and proxy settings) minus npm's own variables, plus the image's. */
function buildEnv(stepEnv) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'NODE_OPTIONS' || key === 'NODE_ENV' || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return {
    ...env,
    ...replayEnv(stepEnv),
    PATH: `${hostPath('/usr/local/bin')}:${process.env.PATH ?? IMAGE_PATH}`,
    // A private cache: a fresh install as in a Docker build, and `npm cache clean` cannot touch this machine's cache.
    npm_config_cache: path.join(tmp, 'npm-cache'),
  };
}

/** The container's environment: the image's PATH and HOME, its ENV, and nothing inherited (so BACKEND_SERVERS is unset). */
function containerEnv(image, port) {
  return {
    PATH: `${hostPath('/usr/local/bin')}:${IMAGE_PATH}`,
    HOME: hostPath(userOf(image.user).home),
    // Not set in the image (where it is /tmp); here it keeps tsx's compile cache inside the temporary directory.
    TMPDIR: hostPath('/tmp'),
    ...replayEnv(image.env),
    PORT: String(port),
  };
}

/** Resolves argv[0] the way exec does, on the container's PATH. */
function resolveCommand(argv, env) {
  const [command, ...args] = argv;
  if (command.includes('/')) return [command.startsWith('/') && fs.existsSync(hostPath(command)) ? hostPath(command) : command, ...args];
  for (const dir of env.PATH.split(':')) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return [candidate, ...args];
    } catch { /* not executable here: try the next candidate */ }
  }
  throw new Error(`${command}: not found on the container PATH ${env.PATH}`);
}

/** Starts a process in its own process group; its output goes to `lines` (and to the console when `echo`). */
function start(argv, options, { echo = false } = {}) {
  const [command, ...args] = argv;
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.lines = [];
  child.exited = new Promise((resolve) => {
    child.once('error', (error) => {
      child.lines.push(`spawn failed: ${error.message}`);
      resolve({ code: null, signal: null, error });
    });
    // 'close' rather than 'exit': by then all of its output has been read.
    child.once('close', (code, signal) => {
      child.closed = true;
      resolve({ code, signal });
    });
  });
  children.add(child);
  child.exited.then(() => children.delete(child));
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      for (const line of parts) {
        child.lines.push(line);
        if (echo) console.log(`      | ${line}`);
      }
    });
    stream.on('end', () => {
      if (partial) child.lines.push(partial);
      if (partial && echo) console.log(`      | ${partial}`);
    });
  }
  return child;
}

/** Waits for exit, killing the process group after `ms`. */
async function finish(child, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  const result = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  if (result !== 'timeout') return result;
  killChildGroup(child);
  await child.exited;
  return { code: null, signal: 'SIGKILL', timedOutAfterMs: ms };
}

/**
 * SIGKILLs the process group this script created for the child. Also after the child itself has exited:
 * a process it started may live on in the group (e.g. node behind a shell-form `sh -c`) and hold its output
 * open. Not after 'close', once everything that held the output has exited.
 */
function killChildGroup(child) {
  if (!child.closed) killGroup(child, 'SIGKILL');
}

async function runStep(step) {
  const env = buildEnv(step.env);
  const cwd = hostPath(step.workdir);
  fs.mkdirSync(cwd, { recursive: true, mode: 0o755 });
  // Exec form's arguments are mapped as ENV values are (see replayPath); a shell-form command runs as written.
  const argv = step.command.exec ? resolveCommand(step.command.exec.map((arg, i) => i === 0 ? arg : replayPath(arg)), env) : step.command.argv;
  const began = Date.now();
  const child = start(argv, { cwd, env, ...identity(step.user) }, { echo: true });
  const result = await finish(child, RUN_TIMEOUT_MS);
  if (result.code !== 0) throw new Error(`the command failed (${describeExit(result)})`);
  return `exit 0 in ${seconds(Date.now() - began)}`;
}

/** Total size of a directory tree, counting hard-linked files once. */
function treeBytes(dir) {
  const seen = new Set();
  let total = 0;
  const walk = (p) => {
    const stat = fs.lstatSync(p);
    if (stat.isDirectory()) { for (const entry of fs.readdirSync(p)) walk(path.join(p, entry)); }
    else if (!seen.has(stat.ino)) {
      seen.add(stat.ino);
      total += stat.size;
    }
  };
  walk(dir);
  return total;
}

function checkProductionModules(appDir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(appDir, 'package.json'), 'utf8'));
  const nodeModules = path.join(appDir, 'node_modules');
  const lock = JSON.parse(fs.readFileSync(path.join(appDir, 'package-lock.json'), 'utf8')).packages ?? {};
  const hiddenLock = path.join(nodeModules, '.package-lock.json');
  const installed = fs.existsSync(hiddenLock) ? Object.keys(JSON.parse(fs.readFileSync(hiddenLock, 'utf8')).packages ?? {}) : [];
  const short = (key) => key.replace(/^.*node_modules\//, '');

  const problems = [];
  const missing = Object.keys(pkg.dependencies ?? {}).filter((name) => !fs.existsSync(path.join(nodeModules, name, 'package.json')));
  if (missing.length > 0) problems.push(`dependencies not installed: ${missing.join(', ')}`);

  // Declared devDependencies, and anything the lockfile marks as needed only for development.
  const dev = new Set(Object.keys(pkg.devDependencies ?? {}).filter((name) => fs.existsSync(path.join(nodeModules, name))));
  for (const key of installed) if (lock[key]?.dev || lock[key]?.devOptional) dev.add(short(key));
  if (dev.size > 0) {
    const why = (name) => {
      const users = [];
      for (const key of installed) {
        const entry = lock[key] ?? {};
        for (
          const [field, kind] of [
            ['dependencies', 'dependency'],
            ['optionalDependencies', 'optional dependency'],
            ['peerDependencies', entry.peerDependenciesMeta?.[name]?.optional ? 'optional peer dependency' : 'peer dependency'],
          ]
        ) {
          if (entry[field]?.[name]) users.push(`${short(key)} has it as ${kind}`);
        }
      }
      return users.length > 0 ? `${name} (${users.join('; ')})` : name;
    };
    problems.push(`devDependencies in the production node_modules: ${[...dev].sort().map(why).join(', ')}`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const devCount = Object.keys(pkg.devDependencies ?? {}).length;
  const mb = (treeBytes(nodeModules) / 1e6).toFixed(0);
  return `${installed.length} packages, ${mb} MB; none of the ${devCount} devDependencies, e.g. ${
    Object.keys(pkg.devDependencies ?? {}).slice(0, 3).join(', ')
  }`;
}

// ---------------------------------------------------------------- running the container

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The JSON log line with properties.event === name, if the app wrote one. */
function logEvent(lines, name) {
  for (const line of lines) {
    try {
      const record = JSON.parse(line);
      if (record?.properties?.event === name) return record;
    } catch { /* not a JSON log record: skip the line */ }
  }
  return undefined;
}

async function runHealthcheck(image, port) {
  const env = containerEnv(image, port);
  const argv = image.healthcheck.command.exec ? resolveCommand(image.healthcheck.command.exec, env) : image.healthcheck.command.argv;
  const began = Date.now();
  const child = start(argv, { cwd: hostPath(image.cmd.workdir), env, ...identity(image.user) });
  const result = await finish(child, image.healthcheck.timeoutMs);
  return { ...result, ms: Date.now() - began, lines: child.lines };
}

async function startApp(image, extraEnv = {}) {
  for (let attempt = 1;; attempt++) {
    const port = await freePort(image.env.HOST || '0.0.0.0');
    const env = { ...containerEnv(image, port), ...extraEnv };
    const argv = resolveCommand(image.cmd.command.argv, env);
    const began = Date.now();
    const child = start(argv, { cwd: hostPath(image.cmd.workdir), env, ...identity(image.user) });
    let exited = null;
    child.exited.then((result) => {
      exited = result;
    });
    while (exited === null && Date.now() - began < START_TIMEOUT_MS) {
      if (await canConnect(port)) return { child, port, argv, ms: Date.now() - began };
      await sleep(100);
    }
    if (exited === null) {
      killChildGroup(child);
      await child.exited;
      throw new Error(`not listening on port ${port} after ${seconds(START_TIMEOUT_MS)}; its output:\n${tail(child.lines)}`);
    }
    // Another process may have taken the free port between the probe and the app's listen().
    if (attempt < 3 && child.lines.some((l) => l.includes('EADDRINUSE'))) continue;
    throw new Error(`it ended (${describeExit(exited)}) before listening; its output:\n${tail(child.lines)}`);
  }
}

/** Sends the stop signal and requires exit 0 within docker stop's grace period. */
async function stopApp(app, signal) {
  process.kill(app.child.pid, signal);
  const result = await finish(app.child, STOP_TIMEOUT_MS);
  if (result.code !== 0) throw new Error(`it ended (${describeExit(result)}) (docker would SIGKILL it); its output:\n${tail(app.child.lines)}`);
}

/** Every file under a directory with its size, mode and mtime: equal snapshots mean nothing was written there. */
function treeSnapshot(dir) {
  const entries = [];
  const walk = (p) => {
    const stat = fs.lstatSync(p);
    entries.push(`${path.relative(dir, p)} ${stat.size} ${(stat.mode & 0o7777).toString(8)} ${stat.mtimeMs}`);
    if (stat.isDirectory()) { for (const entry of fs.readdirSync(p).sort()) walk(path.join(p, entry)); }
  };
  walk(dir);
  return entries.join('\n');
}

/**
 * Starts the CMD with Node's compile-cache debug output (NODE_DEBUG_NATIVE=COMPILE_CACHE, on stderr) and reads from
 * it which TypeScript modules came from NODE_COMPILE_CACHE and which Node had to strip (loading its type stripper).
 */
async function startWithCacheDebug(image) {
  const app = await startApp(image, { NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
  // Idle for a moment after listening, as a container does, before reading its RSS.
  await sleep(1000);
  const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${app.child.pid}/status`, 'utf8'))?.[1];
  await stopApp(app, image.stopSignal);
  const urls = (pattern) => new Set(app.child.lines.flatMap((line) => pattern.exec(line)?.[1] ?? []));
  return {
    fromCache: urls(/retrieving transpile cache for StrippedTypeScript (\S+)\.\.\.success/),
    stripped: urls(/(?:no transpile cache|saving transpilation cache) for StrippedTypeScript (\S+)/),
    rssMiB: rss ? (Number(rss) / 1024).toFixed(0) : '?',
  };
}

// ---------------------------------------------------------------- main

function cleanup() {
  for (const child of children) killChildGroup(child);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.once(signal, () => {
    console.log(`container-check: interrupted by ${signal}; cleaning up`);
    cleanup();
    process.exit(code);
  });
}

async function main() {
  if (!fs.existsSync(REPO_NODE)) {
    console.log(`container-check: ${path.relative(REPO, REPO_NODE)} is missing; run npm ci (or npm install) first`);
    process.exit(2);
  }
  const repoNodeVersion = (await (async () => {
    const child = start([REPO_NODE, '--version'], {});
    await finish(child, 30_000);
    return child.lines[0] ?? '';
  })()).trim();

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fairway-container-check-'));
  fs.chmodSync(tmp, 0o755);
  rootfs = path.join(tmp, 'rootfs');
  console.log(`container-check: replaying Dockerfile in ${tmp} with node ${repoNodeVersion} (node_modules/node/bin/node)`);

  let parsed;
  await check(
    'Dockerfile: every instruction can be replayed here',
    () => {
      parsed = parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'));
      return `${parsed.count} instructions, ${parsed.steps.length} build steps`;
    },
    { required: true },
  );
  const { image, steps } = parsed;

  await check(`Dockerfile: FROM ${image.from} is the Node major that runs here`, () => {
    const match = /^(?:(?:docker\.io\/)?library\/)?node:(\d+)(?:[.-][^@]*)?(?:@sha256:[0-9a-f]+)?$/.exec(image.from);
    if (!match) throw new Error(`expected an official node image pinned to a major, such as node:26-slim; got ${image.from}`);
    const here = /^v(\d+)\./.exec(repoNodeVersion)?.[1];
    if (match[1] !== here) {
      throw new Error(`the image has Node ${match[1]} but node_modules/node is ${repoNodeVersion}; keep the node devDependency and FROM on one major`);
    }
    return `node_modules/node is ${repoNodeVersion}`;
  });

  await check('Dockerfile: CMD runs node directly in exec form, so node is PID 1 and gets the stop signal', () => {
    const { command } = image.cmd;
    if (!command.exec) throw new Error(`CMD is in shell form, so /bin/sh is PID 1 and does not pass SIGTERM on; use ["node", ...]: ${command.shell}`);
    if (command.exec[0] !== 'node') throw new Error(`CMD starts ${command.exec[0]}, not node: a wrapper in between may not pass signals on`);
    return command.exec.join(' ');
  });

  await check(`Dockerfile: USER ${image.user} is not root; EXPOSE matches ENV PORT`, () => {
    if (userOf(image.user).uid === 0) throw new Error('the app would run as root; add USER node');
    if (!image.expose.includes(String(image.env.PORT ?? ''))) {
      throw new Error(`EXPOSE ${image.expose.join(' ') || '(none)'} but ENV PORT=${image.env.PORT ?? '(unset)'}`);
    }
    return `EXPOSE ${image.expose.join(' ')}, PORT=${image.env.PORT}`;
  });

  // The image's node, where the image has it; npm on this machine's PATH then runs on it too.
  fs.mkdirSync(hostPath('/usr/local/bin'), { recursive: true, mode: 0o755 });
  try {
    fs.linkSync(REPO_NODE, hostPath('/usr/local/bin/node'));
  } catch {
    fs.copyFileSync(REPO_NODE, hostPath('/usr/local/bin/node'));
    fs.chmodSync(hostPath('/usr/local/bin/node'), 0o755);
  }
  fs.mkdirSync(hostPath('/tmp'), { recursive: true });
  fs.chmodSync(hostPath('/tmp'), 0o1777);
  for (const user of Object.values(IMAGE_USERS)) {
    fs.mkdirSync(hostPath(user.home), { recursive: true, mode: 0o755 });
    if (isRoot) fs.chownSync(hostPath(user.home), user.uid, user.gid);
  }

  const patterns = readDockerignore();
  const npmVersion = await (async () => {
    const child = start(resolveCommand(['npm', '--version'], buildEnv({})), { env: buildEnv({}) });
    const result = await finish(child, 60_000);
    return result.code === 0 ? child.lines.join('').trim() : 'unknown';
  })();
  for (const step of steps) {
    if (step.kind === 'COPY') {
      await check(`build: ${step.ins.text}`, () => copyStep(step, patterns), { required: true });
    } else {
      console.log(`      running ${step.ins.text} (npm ${npmVersion} from this machine, on node ${repoNodeVersion}, ${describeIdentity(step.user)})`);
      await check(`build: ${step.ins.text}`, () => runStep(step), { required: true });
    }
  }

  const appDir = hostPath(image.cmd.workdir);
  await check('production node_modules: every dependency, no devDependency', () => checkProductionModules(appDir));

  if (image.healthcheck) {
    await check('HEALTHCHECK fails while nothing listens (it really probes the app)', async () => {
      const port = await freePort(image.env.HOST || '0.0.0.0');
      const result = await runHealthcheck(image, port);
      if (result.code === 0) throw new Error(`it exited 0 with nothing listening on PORT=${port}; it would report a dead container healthy`);
      return `${describeExit(result)} with nothing on PORT=${port}`;
    });
  }

  const cacheDir = image.env.NODE_COMPILE_CACHE ? replayEnv({ dir: image.env.NODE_COMPILE_CACHE }).dir : undefined;
  await check('the first start strips no TypeScript: every module comes from the compile cache filled at build time, which it leaves as it was', async () => {
    if (!cacheDir) throw new Error("ENV NODE_COMPILE_CACHE is not set, so each start strips every module and keeps Node's type stripper resident");
    if (!fs.existsSync(cacheDir)) throw new Error(`NODE_COMPILE_CACHE=${image.env.NODE_COMPILE_CACHE} does not exist after the build`);
    const before = treeSnapshot(cacheDir);
    const run = await startWithCacheDebug(image);
    const short = (url) => url.replace(/^.*\/src\//, 'src/');
    if (run.stripped.size > 0) {
      throw new Error(`Node stripped ${[...run.stripped].map(short).join(', ')} itself (${run.fromCache.size} from the cache)`);
    }
    if (run.fromCache.size === 0) {
      throw new Error('no TypeScript module came from the cache (is it on in the CMD, and filled for the uid of USER? Node keeps one per uid)');
    }
    if (treeSnapshot(cacheDir) !== before) throw new Error(`the app changed ${image.env.NODE_COMPILE_CACHE}, part of its image`);
    return `${run.fromCache.size} modules from ${image.env.NODE_COMPILE_CACHE}, none stripped; RSS ${run.rssMiB} MiB 1 s after listening`;
  });

  let app;
  await check(
    `CMD starts and listens: ${image.cmd.command.argv.join(' ')}`,
    async () => {
      app = await startApp(image);
      const listening = logEvent(app.child.lines, 'listening');
      const logged = listening ? `; logged event=listening port=${listening.properties.port}` : '; no JSON "listening" log line seen';
      return `pid ${app.child.pid}, ${describeIdentity(image.user)}, HOST=${image.env.HOST} PORT=${app.port}, after ${seconds(app.ms)}${logged}`;
    },
    { required: true },
  );

  await check(`HEALTHCHECK exits 0 within its --timeout (${seconds(image.healthcheck?.timeoutMs ?? 0)})`, async () => {
    if (!image.healthcheck) throw new Error('the Dockerfile has no HEALTHCHECK');
    const result = await runHealthcheck(image, app.port);
    if (result.code !== 0) {
      throw new Error(`it ended (${describeExit(result)}); its output:\n${tail(result.lines)}`);
    }
    return `exit 0 in ${seconds(result.ms)}`;
  });

  await check('a request through the balancer gets 200 from a demo backend (BACKEND_SERVERS unset)', async () => {
    const seen = [];
    for (let i = 1; i <= 2; i++) {
      const response = await fetch(`http://127.0.0.1:${app.port}/container-check?request=${i}`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`GET /container-check got ${response.status}: ${body.slice(0, 300)}`);
      let backend;
      try {
        backend = JSON.parse(body).backend;
      } catch { /* not JSON: no backend name to report */ }
      if (typeof backend !== 'string') throw new Error(`200, but the body does not come from a demo backend: ${body.slice(0, 300)}`);
      seen.push(backend);
    }
    return `GET /container-check twice: 200 from ${seen.join(', then ')}`;
  });

  await check(`${image.stopSignal} to pid ${app.child.pid} makes it exit 0 within ${seconds(STOP_TIMEOUT_MS)}, as docker stop needs`, async () => {
    const began = Date.now();
    process.kill(app.child.pid, image.stopSignal);
    const result = await finish(app.child, STOP_TIMEOUT_MS);
    const ms = Date.now() - began;
    if (result.code !== 0) {
      throw new Error(`it ended (${describeExit(result)}) (docker would SIGKILL it); its output:\n${tail(app.child.lines)}`);
    }
    const logged = logEvent(app.child.lines, 'shutdown') ? '; logged event=shutdown' : '';
    return `exit 0 after ${seconds(ms)}${logged}`;
  });

  // Last, as it edits the image's copy of the entrypoint (as a file mounted over it or edited in place would).
  await check('an entrypoint edited after the build is stripped again at start, and the cache stays as it was', async () => {
    if (!cacheDir || !fs.existsSync(cacheDir)) throw new Error('no NODE_COMPILE_CACHE in the image');
    const entry = image.cmd.command.argv.findLast((arg) => arg.endsWith('.ts'));
    if (!entry) throw new Error('the CMD names no .ts entrypoint');
    const file = path.join(hostPath(image.cmd.workdir), entry);
    fs.appendFileSync(file, '\nconst editedAfterBuild: number = 1;\nvoid editedAfterBuild;\n');
    const before = treeSnapshot(cacheDir);
    const run = await startWithCacheDebug(image);
    const stripped = [...run.stripped].map((url) => url.replace(/^.*\/src\//, 'src/'));
    if (stripped.length !== 1 || !entry.endsWith(stripped[0])) {
      throw new Error(`expected ${entry} alone to be stripped; stripped: ${stripped.join(', ') || 'none'}`);
    }
    if (treeSnapshot(cacheDir) !== before) throw new Error(`the app changed ${image.env.NODE_COMPILE_CACHE}, part of its image`);
    return `${entry} stripped, ${run.fromCache.size} modules from the cache; it listened and stopped with exit 0`;
  });
}

try {
  await main();
} catch (error) {
  if (!(error instanceof StopChecks)) {
    failed++;
    console.log(`FAIL  container-check itself: ${error instanceof Error ? error.stack : error}`);
  }
} finally {
  cleanup();
}
console.log(`container-check: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
