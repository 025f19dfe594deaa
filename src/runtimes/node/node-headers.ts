/** The core's header rules over node:http's and undici's plain header objects, without converting to `Headers`. */
import type { HeaderMap } from '../../core/proxy/hop-by-hop.ts';

export type HeaderObject = Record<string, string | string[] | undefined>;

/**
 * Keys in these objects are lower-case already; names from a Connection header may not be. Deletions are only
 * noted: `object` then builds a fresh object without them, since a `delete` turns a V8 object into a slow
 * dictionary, which the profile showed costing more in node:http's writeHead and undici than the copy.
 */
export class NodeHeaders implements HeaderMap {
  #object: HeaderObject;
  #deleted: Set<string> | undefined;

  constructor(object: HeaderObject) {
    this.#object = object;
  }

  /** The headers as they stand, as a plain object for undici or `writeHead`. */
  get object(): HeaderObject {
    const deleted = this.#deleted;
    if (deleted !== undefined) {
      const source = this.#object;
      const fresh: HeaderObject = {};
      for (const key in source) if (source[key] !== undefined && !deleted.has(key)) fresh[key] = source[key];
      this.#object = fresh;
      this.#deleted = undefined;
    }
    return this.#object;
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    const value = this.#object[key];
    if (value === undefined || this.#deleted?.has(key)) return null;
    return typeof value === 'string' ? value : value.join(', ');
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.#object[key] !== undefined && this.#deleted?.has(key) !== true;
  }

  set(name: string, value: string): void {
    const key = name.toLowerCase();
    this.#deleted?.delete(key);
    this.#object[key] = value;
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const existing = this.object[key];
    if (existing === undefined) this.object[key] = value;
    // node:http writes each array element as its own line, which Set-Cookie needs; other fields combine with ", ".
    else if (key === 'set-cookie') this.object[key] = [...(typeof existing === 'string' ? [existing] : existing), value];
    else this.object[key] = `${typeof existing === 'string' ? existing : existing.join(', ')}, ${value}`;
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    if (this.#object[key] !== undefined) (this.#deleted ??= new Set()).add(key);
  }

  keys(): Iterable<string> {
    const object = this.#object;
    const deleted = this.#deleted;
    const keys = Object.keys(object);
    // node:http's and undici's objects hold no undefined values, and most have nothing deleted yet: one array, not two.
    for (const key of keys) {
      if (object[key] === undefined || deleted?.has(key) === true) return keys.filter((k) => object[k] !== undefined && deleted?.has(k) !== true);
    }
    return keys;
  }
}
