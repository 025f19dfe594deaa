/**
 * zod without its 63 other locales on Bun: every zod entry re-exports all 64 error-message locales (zod issues 5665
 * and 6050), about 1 MiB resident on Bun 1.4.5, and Fairway only ever uses English, zod's default.
 */
import { plugin } from 'bun';

/**
 * zod's locale index, when Bun loads it, exports English alone. zod sets English as its default from its own import of
 * `locales/en.js`, so its messages are the same; only `z.locales` (which Fairway never reads) lists one locale. Must run
 * before anything imports zod: Bun's runtime plugins apply to modules loaded after they are registered.
 */
export function loadZodEnglishOnly(): void {
  plugin({
    name: 'fairway-zod-english-only',
    setup(build) {
      build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
        contents: "export { default as en } from './en.js';",
        loader: 'js',
      }));
    },
  });
}
