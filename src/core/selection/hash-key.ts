/** HASH_KEY: which part of a request consistent hashing maps to a server, and how to read it from a request. */
import { parse as parseCookies } from 'hono/utils/cookie';

export type HashKeySource =
  | { readonly kind: 'ip' }
  | { readonly kind: 'path' }
  | { readonly kind: 'header' | 'cookie' | 'query'; readonly name: string };

/** What key extraction may read about a request: the lifecycle builds it from whichever I/O path received it. */
export interface RequestView {
  readonly method: string;
  /** Path and query, as received (origin-form). */
  readonly target: string;
  /** A header's value (several lines joined with ", " as Headers.get does), or null. Case-insensitive. */
  header(name: string): string | null;
  /** The client's IP address as the server socket saw it. */
  readonly clientAddress: string | undefined;
}

/** RFC 9110 §5.6.2 token: what a header name may be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** The cookie names hono's serializer accepts (RFC 6265 §4.1.1 token, minus a few it refuses). */
export const COOKIE_NAME = /^[\w!#$%&'*.^`|~+-]+$/;

/** Parses a HASH_KEY value; returns an error text (what is allowed) when it is not one. */
export function parseHashKey(text: string): HashKeySource | string {
  if (text === 'ip' || text === 'path') return { kind: text };
  const colon = text.indexOf(':');
  const kind = colon === -1 ? '' : text.slice(0, colon);
  const name = colon === -1 ? '' : text.slice(colon + 1);
  if (kind === 'header' && TOKEN.test(name)) return { kind, name: name.toLowerCase() };
  if (kind === 'cookie' && COOKIE_NAME.test(name)) return { kind, name };
  if (kind === 'query' && name !== '') return { kind, name };
  if (kind === 'header' || kind === 'cookie' || kind === 'query') {
    return `${kind}: must be followed by a valid ${kind} name, e.g. ${kind}:${kind === 'header' ? 'x-user-id' : 'session'}`;
  }
  return 'use ip, path, header:<name>, cookie:<name> or query:<name>';
}

export function describeHashKey(source: HashKeySource): string {
  return source.kind === 'ip' || source.kind === 'path' ? source.kind : `${source.kind}:${source.name}`;
}

/** The request's key, or undefined when it has none (empty counts as none): such requests go to HASH_FALLBACK. */
export function extractHashKey(source: HashKeySource, request: RequestView): string | undefined {
  switch (source.kind) {
    case 'ip':
      return nonEmpty(request.clientAddress);
    case 'path': {
      const query = request.target.indexOf('?');
      return query === -1 ? request.target : request.target.slice(0, query);
    }
    case 'header':
      return nonEmpty(request.header(source.name) ?? undefined);
    case 'cookie':
      return readCookie(request.header('cookie'), source.name);
    case 'query': {
      const query = request.target.indexOf('?');
      if (query === -1) return undefined;
      return nonEmpty(new URLSearchParams(request.target.slice(query + 1)).get(source.name) ?? undefined);
    }
  }
}

/** A cookie's value from a Cookie header (RFC 6265 §5.4), or undefined. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  return nonEmpty(parseCookies(header, name)[name]);
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);
