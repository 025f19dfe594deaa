#!/usr/bin/env node
/**
 * Fills Node's compile cache at image build time (the Dockerfile's RUN), so the container's very first start finds
 * every module's stripped source there and never loads Node's type stripper (about 30 MiB that otherwise stays
 * resident; see scripts/typescript-loader.mjs).
 *
 *   node scripts/fill-compile-cache.mjs /app/.node-compile-cache UID:GID     (as root, in /app)
 *
 * The directory is what the image's NODE_COMPILE_CACHE names for its starts; this process itself must run with the
 * cache off (NODE_COMPILE_CACHE unset), or Node would add this script's own cache entries there when it exits.
 *
 * UID:GID is the user the container runs as (USER node is 1000:1000 in the node images). It matters because Node
 * keeps the cache of each uid in its own subdirectory (`v<version>-<arch>-<V8 tag>-<uid>`), so a cache filled as root
 * would never be read by the node user. So, as root, this script creates the directory for that user, imports
 * Fairway's modules in a child process running as that uid (with the same preload as the image's CMD), and then gives
 * the whole directory back to root, read-only: the running app reads it but cannot modify its image. Node 26 reads a
 * cache it cannot write, and when a file has changed since (an edited or mounted source) it strips that file again
 * and only fails, silently, to save the result. Run as another user (the container check without root), the cache
 * is filled for that user's own uid, the one its CMD then runs as.
 *
 * The child imports every module of Node's entrypoint without starting anything: all of src/core,
 * src/runtimes/node and src/runtimes/shared (also those bootstrap.ts imports only on demand), then the entrypoint
 * itself with its own imports replaced by a module that throws, so Node strips and compiles it but never runs it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PRELOAD = path.join(ROOT, 'scripts', 'typescript-loader.mjs');
const ENTRY = path.join(ROOT, 'src', 'runtimes', 'node.ts');
/** The folders whose modules Node's entrypoint can load (Deno's and Bun's own folders import their runtimes' APIs). */
const FOLDERS = ['src/core', 'src/runtimes/shared', 'src/runtimes/node'];
const CHILD = '--import-modules';

function fail(message) {
  console.error(`fill-compile-cache: ${message}`);
  process.exit(1);
}

/** Every path under `dir`, depth first as readdir lists them (Node 20.1+ reads the tree itself). */
const pathsUnder = (dir) => fs.readdirSync(dir, { recursive: true }).map((name) => path.join(dir, name));
const tsFiles = (dir) => pathsUnder(dir).filter((file) => file.endsWith('.ts')).sort();

/** The child: the preload has turned the cache on (and narrowed zod's locales); import, flush, exit. */
async function importModules() {
  if (module.getCompileCacheDir?.() === undefined) fail('the compile cache is off in the child (NODE_DISABLE_COMPILE_CACHE set?)');
  const entryUrl = pathToFileURL(ENTRY).href;
  const entryImports = [];
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (context.parentURL !== entryUrl) return nextResolve(specifier, context);
      // The entrypoint's body starts Fairway: it gets compiled, but none of its imports link, so it never runs.
      // What it imports is imported on its own below (its packages, such as @hono/node-server, are cached too).
      entryImports.push(nextResolve(specifier, context).url);
      return { url: 'data:text/javascript,throw new Error("not started")', shortCircuit: true };
    },
  });
  const files = FOLDERS.flatMap((folder) => tsFiles(path.join(ROOT, folder)));
  for (const file of files) await import(pathToFileURL(file).href);
  const entryRan = await import(entryUrl).then(() => true, () => false);
  if (entryRan) fail(`${path.relative(ROOT, ENTRY)} ran; it must only be compiled`);
  for (const url of entryImports) await import(url);
  module.flushCompileCache();
  console.log(`fill-compile-cache: imported ${files.length} modules and compiled ${path.relative(ROOT, ENTRY)}`);
}

/** The parent: prepare the directory, fill it as the container's user, then hand it to root, read-only. */
function fill() {
  const [dir, user] = process.argv.slice(2);
  if (!dir || !path.isAbsolute(dir)) fail(`the first argument must be the cache's absolute directory; got ${JSON.stringify(dir ?? '')}`);
  if (!process.features.typescript) fail(`node ${process.version} does not strip types itself, so its starts would not read a compile cache`);
  const match = /^(\d+):(\d+)$/.exec(user ?? '');
  if (!match) fail(`the second argument must be the container's UID:GID (e.g. 1000:1000 for USER node); got ${JSON.stringify(user ?? '')}`);
  if (module.getCompileCacheDir?.() !== undefined) {
    fail(`this process has the compile cache on (${module.getCompileCacheDir()}); run it with NODE_COMPILE_CACHE unset (set it after this step)`);
  }
  const isRoot = process.getuid() === 0;
  const uid = isRoot ? Number(match[1]) : process.getuid();
  const gid = isRoot ? Number(match[2]) : process.getgid();
  if (!isRoot) console.log(`fill-compile-cache: not root, so filling it for this user's uid ${uid} (only root can fill it for ${match[0]})`);

  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  if (isRoot) fs.chownSync(dir, uid, gid);
  const child = spawnSync(process.execPath, ['--import', PRELOAD, fileURLToPath(import.meta.url), CHILD], {
    cwd: ROOT,
    env: { ...process.env, NODE_COMPILE_CACHE: dir },
    stdio: 'inherit',
    ...(isRoot ? { uid, gid } : {}),
  });
  if (child.status !== 0) fail(`importing Fairway's modules failed (${child.error?.message ?? `exit ${child.status ?? child.signal}`})`);

  const own = fs.readdirSync(dir).find((name) => name.endsWith(`-${uid}`));
  if (!own) fail(`Node wrote no cache directory for uid ${uid} in ${dir} (found: ${fs.readdirSync(dir).join(', ') || 'nothing'})`);
  let files = 0;
  let bytes = 0;
  for (const file of pathsUnder(dir)) {
    const isDirectory = fs.lstatSync(file).isDirectory();
    if (isRoot) fs.lchownSync(file, 0, 0);
    fs.chmodSync(file, isDirectory ? 0o555 : 0o444);
    if (!isDirectory) {
      files++;
      bytes += fs.statSync(file).size;
    }
  }
  if (isRoot) fs.chownSync(dir, 0, 0);
  fs.chmodSync(dir, 0o555);
  console.log(
    `fill-compile-cache: ${files} entries, ${(bytes / 1024).toFixed(0)} KiB in ${path.join(dir, own)}, read-only${isRoot ? ', owned by root' : ''}`,
  );
}

if (process.argv[2] === CHILD) await importModules();
else fill();
