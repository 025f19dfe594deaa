/** The core's header rules over node:http's and undici's plain header objects, without converting to `Headers`. */
import type { HeaderMap } from '../../core/proxy/hop-by-hop.ts';

export type HeaderObject = Record<string, string | string[] | undefined>;

/** Keys in these objects are lower-case already; names from a Connection header may not be. */
export class NodeHeaders implements HeaderMap {
  readonly object: HeaderObject;

  constructor(object: HeaderObject) {
    this.object = object;
  }

  get(name: string): string | null {
    const value = this.object[name.toLowerCase()];
    if (value === undefined) return null;
    return typeof value === 'string' ? value : value.join(', ');
  }

  has(name: string): boolean {
    return this.object[name.toLowerCase()] !== undefined;
  }

  set(name: string, value: string): void {
    this.object[name.toLowerCase()] = value;
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
    if (this.object[key] !== undefined) delete this.object[key];
  }

  keys(): Iterable<string> {
    return Object.keys(this.object).filter((key) => this.object[key] !== undefined);
  }
}
