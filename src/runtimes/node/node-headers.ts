/** The core's header rules over node:http's and undici's plain header objects, without converting to `Headers`. */
import type { HeaderMap } from '../../core/proxy/hop-by-hop.ts';

export type HeaderObject = Record<string, string | string[] | undefined>;

/**
 * `name` in lower case. The core names fields in lower case already, and V8's `toLowerCase` allocates a new string even
 * then (a copy it throws away): about 20 calls and 0.9 KB of garbage a request, from the header rules alone.
 */
function lower(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return name.toLowerCase();
  }
  return name;
}

/**
 * Keys in these objects are lower-case already; names from a Connection header may not be. Deletions are only
 * noted: `object` then builds a fresh object without them, since a `delete` turns a V8 object into a slow
 * dictionary, which the profile showed costing more in node:http's writeHead and undici than the copy.
 */
const MAX_PENDING_DELETIONS = 16;

export class NodeHeaders implements HeaderMap {
  #object: HeaderObject;
  /** Names deleted but still in `#object`: most messages drop one or two (Host, Connection), so a list, not a Set. */
  #deleted: string[] | undefined;

  constructor(object: HeaderObject) {
    this.#object = object;
  }

  /** The headers as they stand, as a plain object for undici or `writeHead`. */
  get object(): HeaderObject {
    const deleted = this.#deleted;
    if (deleted !== undefined) {
      const source = this.#object;
      const fresh: HeaderObject = {};
      for (const key in source) if (source[key] !== undefined && !deleted.includes(key)) fresh[key] = source[key];
      this.#object = fresh;
      this.#deleted = undefined;
    }
    return this.#object;
  }

  get(name: string): string | null {
    const key = lower(name);
    const value = this.#object[key];
    if (value === undefined || this.#deleted?.includes(key)) return null;
    return typeof value === 'string' ? value : value.join(', ');
  }

  has(name: string): boolean {
    const key = lower(name);
    return this.#object[key] !== undefined && this.#deleted?.includes(key) !== true;
  }

  set(name: string, value: string): void {
    const key = lower(name);
    const deleted = this.#deleted;
    if (deleted !== undefined) {
      const at = deleted.indexOf(key);
      if (at >= 0) deleted.splice(at, 1);
    }
    this.#object[key] = value;
  }

  append(name: string, value: string): void {
    const key = lower(name);
    const existing = this.object[key];
    if (existing === undefined) this.object[key] = value;
    // node:http writes each array element as its own line, which Set-Cookie needs; other fields combine with ", ".
    else if (key === 'set-cookie') this.object[key] = [...(typeof existing === 'string' ? [existing] : existing), value];
    else this.object[key] = `${typeof existing === 'string' ? existing : existing.join(', ')}, ${value}`;
  }

  delete(name: string): void {
    const key = lower(name);
    if (this.#object[key] === undefined) return;
    const deleted = this.#deleted;
    // A literal, exactly sized: `[]` then `push` reserves room for 17.
    if (deleted === undefined) this.#deleted = [key];
    else if (!deleted.includes(key)) {
      deleted.push(key);
      // Each check scans the list: a message that drops many fields (a long Connection list) has them applied now.
      if (deleted.length >= MAX_PENDING_DELETIONS) void this.object;
    }
  }

  keys(): Iterable<string> {
    const object = this.#object;
    const deleted = this.#deleted;
    const keys = Object.keys(object);
    // node:http's and undici's objects hold no undefined values, and most have nothing deleted yet: one array, not two.
    for (const key of keys) {
      if (object[key] === undefined || deleted?.includes(key) === true) return keys.filter((k) => object[k] !== undefined && deleted?.includes(k) !== true);
    }
    return keys;
  }
}
