/**
 * src/core must run unchanged on Node, Deno and Bun: Web-standard APIs and portable npm packages only.
 * This scans its source (comments stripped, string contents ignored except for module specifiers) for
 * Node builtin imports and runtime globals. node:fs is fine here: this test is not part of the core.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CORE_DIR = fileURLToPath(new URL('../../src/core/', import.meta.url));

/** Node's builtin modules, importable without the node: prefix (Node 20-26). */
const NODE_BUILTINS = new Set([
  'assert',
  'assert/strict',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'console',
  'constants',
  'crypto',
  'dgram',
  'diagnostics_channel',
  'dns',
  'dns/promises',
  'domain',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'inspector',
  'inspector/promises',
  'module',
  'net',
  'os',
  'path',
  'path/posix',
  'path/win32',
  'perf_hooks',
  'process',
  'punycode',
  'querystring',
  'readline',
  'readline/promises',
  'repl',
  'stream',
  'stream/consumers',
  'stream/promises',
  'stream/web',
  'string_decoder',
  'sys',
  'timers',
  'timers/promises',
  'tls',
  'trace_events',
  'tty',
  'url',
  'util',
  'util/types',
  'v8',
  'vm',
  'wasi',
  'worker_threads',
  'zlib',
]);

/** Runtime-specific globals; a leading `globalThis.` is caught as well. */
const RUNTIME_GLOBALS: readonly { pattern: RegExp; what: string }[] = [
  { pattern: /(?<![\w$.])Deno\s*\??\./g, what: 'Deno global' },
  { pattern: /(?<![\w$.])Bun\s*\??\./g, what: 'Bun global' },
  { pattern: /(?<![\w$.])process\s*\??\./g, what: 'Node process global' },
  { pattern: /(?<![\w$.])Buffer\b/g, what: 'Node Buffer global' },
  { pattern: /(?<![\w$.])(?:__dirname|__filename|setImmediate|clearImmediate)\b/g, what: 'Node-only global' },
  { pattern: /(?<![\w$.])require\s*\(/g, what: 'CommonJS require' },
  { pattern: /\bglobalThis\s*\??\.\s*(?:Deno|Bun|process|Buffer)\b/g, what: 'runtime global via globalThis' },
];

/** Characters after which a `/` starts a regular expression literal rather than a division. */
const REGEX_PRECEDERS = new Set(['', '(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^']);
const REGEX_KEYWORDS = /(?:^|[^\w$])(?:return|typeof|case|do|else|in|of|void|yield|await|delete|throw|new)$/;

interface Scanned {
  /** Source with comments blanked and string/template/regex contents blanked (same length and line breaks). */
  readonly code: string;
  /** Every string literal's text and the offset where it starts. */
  readonly strings: readonly { value: string; offset: number }[];
}

/** Blanks a range but keeps line breaks, so offsets and line numbers stay valid. */
const blank = (text: string): string => text.replace(/[^\n]/g, ' ');

/** A small lexer: enough of TypeScript's lexical grammar to tell comments, strings and regexes from code. */
function scan(source: string): Scanned {
  let code = '';
  const strings: { value: string; offset: number }[] = [];
  let i = 0;
  let lastSignificant = '';
  const templateDepth: number[] = [];
  let braceDepth = 0;

  const readQuoted = (quote: string): void => {
    const start = i;
    i++;
    let value = '';
    while (i < source.length && source[i] !== quote && source[i] !== '\n') {
      if (source[i] === '\\') {
        value += source.slice(i, i + 2);
        i += 2;
      } else {
        value += source[i];
        i++;
      }
    }
    i++;
    strings.push({ value, offset: start });
    code += quote + blank(source.slice(start + 1, i - 1)) + quote;
    lastSignificant = 'x';
  };

  /** Reads template text up to and including the closing backtick or a `${`. */
  const readTemplateChunk = (): void => {
    const start = i;
    while (i < source.length) {
      if (source[i] === '\\') i += 2;
      else if (source[i] === '`') {
        i++;
        lastSignificant = 'x';
        break;
      } else if (source[i] === '$' && source[i + 1] === '{') {
        i += 2;
        templateDepth.push(braceDepth);
        braceDepth++;
        lastSignificant = '{';
        break;
      } else i++;
    }
    code += blank(source.slice(start, i));
  };

  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? source.length : end;
      code += blank(source.slice(i, stop));
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      code += blank(source.slice(i, stop));
      i = stop;
    } else if (c === '"' || c === "'") {
      readQuoted(c);
    } else if (c === '`') {
      code += ' ';
      i++;
      readTemplateChunk();
    } else if (c === '/' && (REGEX_PRECEDERS.has(lastSignificant) || REGEX_KEYWORDS.test(code.slice(-40).trimEnd()))) {
      const start = i;
      i++;
      let inClass = false;
      while (i < source.length && source[i] !== '\n') {
        const r = source[i];
        if (r === '\\') i += 2;
        else {
          i++;
          if (r === '[') inClass = true;
          else if (r === ']') inClass = false;
          else if (r === '/' && !inClass) break;
        }
      }
      while (i < source.length && /[a-z]/i.test(source[i]!)) i++;
      code += blank(source.slice(start, i));
      lastSignificant = 'x';
    } else {
      if (c === '{') braceDepth++;
      if (c === '}') {
        braceDepth--;
        if (templateDepth.length > 0 && templateDepth.at(-1) === braceDepth) {
          templateDepth.pop();
          code += ' ';
          i++;
          readTemplateChunk();
          continue;
        }
      }
      code += c;
      if (!/\s/.test(c)) lastSignificant = /[\w$]/.test(c) ? 'x' : c;
      i++;
    }
  }
  return { code, strings };
}

interface Violation {
  readonly line: number;
  readonly what: string;
  readonly text: string;
}

/** Module specifiers a portable core must not import. */
function forbiddenSpecifier(specifier: string): string | undefined {
  if (specifier.startsWith('node:')) return 'Node builtin import';
  if (NODE_BUILTINS.has(specifier)) return 'bare Node builtin import';
  if (specifier === 'bun' || specifier.startsWith('bun:')) return 'Bun builtin import';
  if (/^(?:npm|jsr|https?):/.test(specifier)) return 'Deno-only import specifier';
  return undefined;
}

function findViolations(source: string): Violation[] {
  const { code, strings } = scan(source);
  const lineOf = (offset: number): number => source.slice(0, offset).split('\n').length;
  const lineText = (line: number): string => source.split('\n')[line - 1]!.trim();
  const violations: Violation[] = [];

  // A string literal is a module specifier when `from`, `import` or `import(`/`require(` precedes it in code.
  for (const { value, offset } of strings) {
    const before = code.slice(0, offset);
    if (!/(?:\bfrom|\bimport|\bimport\s*\(|\brequire\s*\(|\bexport\s*\*\s*from)\s*$/.test(before)) continue;
    const what = forbiddenSpecifier(value);
    if (what !== undefined) {
      const line = lineOf(offset);
      violations.push({ line, what: `${what} '${value}'`, text: lineText(line) });
    }
  }
  for (const { pattern, what } of RUNTIME_GLOBALS) {
    for (const match of code.matchAll(pattern)) {
      const line = lineOf(match.index);
      violations.push({ line, what, text: lineText(line) });
    }
  }
  return violations.sort((a, b) => a.line - b.line);
}

function tsFilesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = `${dir}${dir.endsWith('/') ? '' : '/'}${name}`;
    if (statSync(path).isDirectory()) files.push(...tsFilesUnder(path));
    else if (name.endsWith('.ts')) files.push(path);
  }
  return files;
}

describe('core purity scanner', () => {
  test('flags node: imports, bare builtin imports, dynamic imports and require', () => {
    const source = [
      "import { readFileSync } from 'node:fs';",
      'import type { Readable } from "stream";',
      "export * from 'fs/promises';",
      "const os = await import('os');",
      "const b = require('buffer');",
      "import 'bun:sqlite';",
      "import { z } from 'zod';",
    ].join('\n');
    const found = findViolations(source);
    assert.deepEqual(
      found.filter((v) => v.what.includes('import')).map((v) => [v.line, v.what]),
      [
        [1, "Node builtin import 'node:fs'"],
        [2, "bare Node builtin import 'stream'"],
        [3, "bare Node builtin import 'fs/promises'"],
        [4, "bare Node builtin import 'os'"],
        [5, "bare Node builtin import 'buffer'"],
        [6, "Bun builtin import 'bun:sqlite'"],
      ],
    );
    assert.ok(found.some((v) => v.line === 5 && v.what === 'CommonJS require'));
  });

  test('flags runtime globals in code, with their line numbers', () => {
    const source = [
      'const a = 1;',
      'const env = Deno.env.toObject();',
      'const v = Bun.version;',
      'if (process.env.X) {}',
      'const n = globalThis.process?.pid;',
      'const buf = Buffer.from("x");',
    ].join('\n');
    assert.deepEqual(
      findViolations(source).map((v) => [v.line, v.what]),
      [
        [2, 'Deno global'],
        [3, 'Bun global'],
        [4, 'Node process global'],
        [5, 'runtime global via globalThis'],
        [6, 'Node Buffer global'],
      ],
    );
  });

  test('ignores mentions inside comments, strings, templates and regex literals, and look-alike names', () => {
    const source = [
      '// Deno.serve and process.env are used by the entrypoints, not here.',
      '/* import x from "node:fs"; Bun.serve() */',
      '/**',
      ' * process.exit(1)',
      ' */',
      "const message = 'set process.env.PORT or Deno.env';",
      'const t = `Bun.version ${count} process.argv`;',
      'const re = /process\\.env|"quoted"/g;',
      'const url = "http://host//path"; const y = 1;',
      'task.process.start(); const myprocess = { x: 1 }; myprocess.x;',
      "const ratio = total / 2; const other = 'Deno.x';",
    ].join('\n');
    assert.deepEqual(findViolations(source), []);
  });

  test('code after a template substitution or a regex is still scanned', () => {
    const source = ['const t = `a ${x} b`; Deno.exit(0);', 'const r = /\\/\\//; process.exit(1);'].join('\n');
    assert.deepEqual(
      findViolations(source).map((v) => [v.line, v.what]),
      [
        [1, 'Deno global'],
        [2, 'Node process global'],
      ],
    );
  });
});

describe('src/core', () => {
  const files = tsFilesUnder(CORE_DIR);

  test('the scan covers every .ts file, including subdirectories', () => {
    assert.ok(files.some((f) => f.endsWith('/balancer.ts')), `balancer.ts not found among ${files.join(', ')}`);
    assert.ok(files.some((f) => f.includes('/selection/')), 'selection/*.ts not scanned');
  });

  test('imports no Node builtin and uses no Deno, Bun or Node global', () => {
    const problems: string[] = [];
    for (const file of files) {
      for (const v of findViolations(readFileSync(file, 'utf8'))) {
        problems.push(`src/core/${file.slice(CORE_DIR.length)}:${v.line}: ${v.what}: ${v.text}`);
      }
    }
    assert.deepEqual(problems, [], `src/core must use only Web-standard APIs:\n${problems.join('\n')}`);
  });
});
