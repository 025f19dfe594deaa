/**
 * Preload for `node --import ./scripts/typescript-loader.mjs src/runtimes/node.ts`: Node 22.18 and later strip
 * TypeScript types themselves (process.features.typescript), so they run the source with no loader at all;
 * older Node (20) gets tsx's loader, registered exactly as `node --import tsx` would.
 */
if (!process.features.typescript) await import('tsx');
