/**
 * The Web path's header store: a mutable copy of a `Headers` and the HeaderMap the header rules work on, made the
 * way that costs least on Deno, where `Headers` is far slower than on Bun or Node (bench/repro/web-api-costs.mjs).
 */
import type { HeaderMap } from './hop-by-hop.ts';

/**
 * A mutable copy of `source`, every field line kept (Set-Cookie lines too). Through a Response rather than
 * `new Headers(source)`: Deno 2.9's Headers constructor converts a Headers argument as a generic iterable of
 * pairs, validating each one again (9.5 µs for 8 fields), while its Response constructor copies the list as it
 * is (0.9 µs); on Bun both take about 0.2 µs. Measured with bench/repro/header-copy.mjs.
 */
export function copyHeaders(source: Headers): Headers {
  return new Response(null, { headers: source }).headers;
}

/**
 * The header rules' view of a `Headers`. `keys()` goes through `forEach`: Deno's key iterator costs about 6.5 µs
 * for 8 fields (its pair-iterator protocol), `forEach` 0.7 µs, and the rules list the names on every request.
 */
export class WebHeaderMap implements HeaderMap {
  readonly headers: Headers;

  constructor(headers: Headers) {
    this.headers = headers;
  }

  get(name: string): string | null {
    return this.headers.get(name);
  }

  has(name: string): boolean {
    return this.headers.has(name);
  }

  set(name: string, value: string): void {
    this.headers.set(name, value);
  }

  append(name: string, value: string): void {
    this.headers.append(name, value);
  }

  delete(name: string): void {
    this.headers.delete(name);
  }

  keys(): string[] {
    const names: string[] = [];
    this.headers.forEach((_value, name) => names.push(name));
    return names;
  }
}

/**
 * The fields as `[name, value]` pairs, Set-Cookie lines apart, for an API that copies a `Headers` argument slowly:
 * Deno's fetch builds its Request from a Headers in 16 µs for 10 fields and from pairs in 6 µs (header-copy.mjs).
 */
export function headerPairs(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => pairs.push([name, value]));
  return pairs;
}
