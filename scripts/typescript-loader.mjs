/**
 * Preload for `node --import ./scripts/typescript-loader.mjs src/runtimes/node.ts`: Node 22.18 and later strip
 * TypeScript types themselves (process.features.typescript), so they run the source with no loader at all;
 * older Node (20) gets tsx's loader, registered exactly as `node --import tsx` would.
 *
 * With Node's own stripping, the compile cache is turned on before the first .ts module loads: Node then keeps each
 * module's stripped source (and V8's code cache) on disk, and a later start with unchanged files never loads the
 * stripper. Node 26's stripper (swc in WebAssembly) otherwise stays resident for the process's life: 30 MiB of a
 * 126 MiB idle Fairway (bench/repro/startup-rss.mjs). The cache is NODE_COMPILE_CACHE, or node-compile-cache in the
 * system's temporary directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off, and a directory that cannot be written only
 * leaves it off (unless it already holds this uid's cache, which is then read: the Docker image fills one at build time). Keyed by each file's content and Node's version, so an edited file is stripped again.
 * Then zod's locale index is narrowed to English (src/runtimes/node/zod-locales.ts), before anything imports zod.
 */
import module from 'node:module';

if (!process.features.typescript) await import('tsx');
else {
  module.enableCompileCache?.();
  const { loadZodEnglishOnly } = await import('../src/runtimes/node/zod-locales.ts');
  loadZodEnglishOnly();
}
