/**
 * zod without its 63 other locales on Node, as src/runtimes/bun/zod-locales.ts does on Bun: every zod entry re-exports
 * all 64 error-message locales (zod issues 5665 and 6050), about 2 MiB resident on Node 26 (bench/repro/startup-rss.mjs),
 * and Fairway only ever uses English, zod's default.
 */
import module from 'node:module';

/** zod's locale index, matched by its path inside the zod package. */
const LOCALE_INDEX = /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/;

/**
 * From now on zod's locale index, when Node loads it, exports English alone. zod sets English as its default from its
 * own import of `locales/en.js`, so its messages are the same; only `z.locales` (which Fairway never reads) lists one
 * locale. Must run before anything imports zod (scripts/typescript-loader.mjs calls it). Needs `module.registerHooks`
 * (Node 22.15 and later); without it, zod loads as it is.
 */
export function loadZodEnglishOnly(): void {
  module.registerHooks?.({
    load(url, context, nextLoad) {
      if (LOCALE_INDEX.test(url)) return { format: 'module', source: "export { default as en } from './en.js';", shortCircuit: true };
      return nextLoad(url, context);
    },
  });
}
