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

/** Deletes, in place, the fixed hop-by-hop headers and every header the Connection header names. */
export function stripHopByHop(headers: HeaderMap): void {
  const connection = headers.get('connection');
  if (connection !== null) {
    for (const token of connection.split(',')) {
      const name = token.trim();
      if (TOKEN.test(name)) headers.delete(name);
    }
  }
  for (const name of HOP_BY_HOP) {
    if (headers.has(name)) headers.delete(name);
  }
}
