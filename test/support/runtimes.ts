/**
 * The runtimes the e2e suite starts the proxy under, and how to start it on each.
 *
 * FAIRWAY_RUNTIMES selects a comma-separated subset (default: all four).
 * FAIRWAY_REPO_ROOT points the suite at another checkout (default: this repo).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findSystemNode } from '../../scripts/lib/processes.mjs';

export type RuntimeName = 'node20' | 'node26' | 'deno' | 'bun';
export const RUNTIME_NAMES: readonly RuntimeName[] = ['node20', 'node26', 'deno', 'bun'];

export interface Runtime {
  readonly name: RuntimeName;
  /** Absolute path of the executable. */
  readonly command: string;
  /** Arguments that start the proxy, relative to the repo root (the child's cwd). */
  readonly args: readonly string[];
}

export const REPO_ROOT: string = process.env.FAIRWAY_REPO_ROOT
  ? path.resolve(process.env.FAIRWAY_REPO_ROOT)
  : fileURLToPath(new URL('../../', import.meta.url));

function runtime(name: RuntimeName): Runtime {
  const local = (...p: string[]) => path.join(REPO_ROOT, 'node_modules', ...p);
  switch (name) {
    case 'node20': {
      const node = findSystemNode();
      if (!node) throw new Error('node20: no system `node` found on PATH outside node_modules');
      return { name, command: node, args: ['--import', 'tsx', 'src/runtimes/node.ts'] };
    }
    case 'node26':
      // Node 26 strips the types itself, as users run it: no loader (tsx stays for Node 20 only).
      return { name, command: local('node', 'bin', 'node'), args: ['src/runtimes/node.ts'] };
    case 'deno':
      return { name, command: local('.bin', 'deno'), args: ['run', '-A', 'src/runtimes/deno.ts'] };
    case 'bun':
      return { name, command: local('.bin', 'bun'), args: ['run', 'src/runtimes/bun.ts'] };
  }
}

/** Parses a FAIRWAY_RUNTIMES value; throws on unknown names so a typo never silently skips runtimes. */
export function parseRuntimeNames(value: string | undefined): RuntimeName[] {
  if (value === undefined || value.trim() === '') return [...RUNTIME_NAMES];
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) {
    if (!(RUNTIME_NAMES as readonly string[]).includes(n)) {
      throw new Error(`FAIRWAY_RUNTIMES: unknown runtime "${n}" (expected some of ${RUNTIME_NAMES.join(', ')})`);
    }
  }
  return [...new Set(names)] as RuntimeName[];
}

/** The runtimes selected by FAIRWAY_RUNTIMES, in canonical order. */
export function selectedRuntimes(): Runtime[] {
  const names = parseRuntimeNames(process.env.FAIRWAY_RUNTIMES);
  return RUNTIME_NAMES.filter((n) => names.includes(n)).map(runtime);
}

export function getRuntime(name: RuntimeName): Runtime {
  return runtime(name);
}
