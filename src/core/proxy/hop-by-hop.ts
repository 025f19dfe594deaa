/** Removes hop-by-hop headers, which describe one connection and must not be forwarded (RFC 9110 §7.6.1). */

/** Fixed hop-by-hop names (RFC 9110 §7.6.1), plus Proxy-Connection and Keep-Alive, which old clients still send. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
] as const;

/** A header field name is an RFC 9110 §5.6.2 token; anything else in Connection names no header and is skipped. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The part of `Headers` the header rules use, so a native I/O path can supply its own header store. */
export interface HeaderMap {
  get(name: string): string | null;
  has(name: string): boolean;
  set(name: string, value: string): void;
  /** Adds a field line; Set-Cookie lines stay separate (RFC 6265 §3). */
  append(name: string, value: string): void;
  delete(name: string): void;
  /** Every field name present, lower-case (as `Headers.keys()` gives them); callers copy it before deleting. */
  keys(): Iterable<string>;
}

const HOP_BY_HOP_NAMES: ReadonlySet<string> = new Set(HOP_BY_HOP);

const NAMES_CLOSE: ReadonlySet<string> = new Set(['close']);

/** The lower-case names a Connection header lists (RFC 9110 §7.6.1), or undefined without one. */
export function connectionNamed(headers: HeaderMap): ReadonlySet<string> | undefined {
  const connection = headers.get('connection');
  if (connection === null) return undefined;
  // The values nearly every message carries, without splitting and testing each time: Keep-Alive is hop-by-hop anyway.
  if (connection.length === 10 && connection.toLowerCase() === 'keep-alive') return undefined;
  if (connection.length === 5 && connection.toLowerCase() === 'close') return NAMES_CLOSE;
  const named = new Set<string>();
  for (const token of connection.split(',')) {
    const name = token.trim();
    if (TOKEN.test(name)) named.add(name.toLowerCase());
  }
  return named;
}

/**
 * `names` with `name` added: the first one as a one-element literal, exactly sized, where `[]` then `push` reserves
 * room for 17 (most messages drop one field, Host or Connection, and this runs twice a request).
 */
export function addName(names: string[] | undefined, name: string): string[] {
  if (names === undefined) return [name];
  names.push(name);
  return names;
}

/** True for a (lower-case) field name that is hop-by-hop: a fixed one, or one the message's Connection header names. */
export function isHopByHop(name: string, named: ReadonlySet<string> | undefined): boolean {
  return HOP_BY_HOP_NAMES.has(name) || (named !== undefined && named.has(name));
}

/**
 * Deletes, in place, the fixed hop-by-hop headers and every header the Connection header names. One pass over the
 * fields present (the profiles showed a `has()` per fixed name costing more than the pass, on Deno's Headers most).
 */
export function stripHopByHop(headers: HeaderMap): void {
  const named = connectionNamed(headers);
  let doomed: string[] | undefined;
  for (const name of headers.keys()) if (isHopByHop(name, named)) doomed = addName(doomed, name);
  if (doomed !== undefined) { for (const name of doomed) headers.delete(name); }
}
