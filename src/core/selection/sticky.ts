/** Sticky sessions as pure logic: read the cookie, route to its server if it may still take requests, and build Set-Cookie. */
import { serialize } from 'hono/utils/cookie';
import type { ServerPool } from '../upstream/server-pool.ts';
import type { UpstreamServer } from '../upstream/upstream-server.ts';
import { readCookie } from './hash-key.ts';
import type { SelectionContext } from './algorithm.ts';
import type { ExcludedServers, Selector } from './selector.ts';

export type SameSite = 'Strict' | 'Lax' | 'None';

export interface StickyOptions {
  /** STICKY_COOKIE. */
  readonly cookieName: string;
  /** STICKY_COOKIE_MAX_AGE in seconds; undefined makes a session cookie. */
  readonly maxAgeSeconds: number | undefined;
  /** STICKY_COOKIE_SAMESITE (default Lax). */
  readonly sameSite: SameSite;
  /** STICKY_COOKIE_SECURE: 'auto' (the default) sets Secure when the client came over TLS. */
  readonly secure: boolean | 'auto';
}

export interface StickyChoice {
  readonly server: UpstreamServer;
  /**
   * The Set-Cookie value to add to the response, or undefined when the client's cookie already names this
   * server. Set when the request had no cookie, or its server is unavailable, removed or unknown (forged).
   */
  readonly setCookie: string | undefined;
}

/**
 * The server the cookie names, if it is in the pool and takes pinned clients (available, or drained by the
 * admin API: HAProxy's drain keeps sticky clients); otherwise a normal pick, with the cookie
 * to set. A forged or stale id can only resolve to a server of this pool (lookup by id, never by address).
 * Undefined when no server is available. A retry passes the servers already tried as `exclude`: the cookie's
 * server among them is passed over like an unavailable one, and the cookie is re-set to the server that answers.
 */
export function pickSticky(
  options: StickyOptions,
  pool: ServerPool,
  selector: Selector,
  cookieHeader: string | null,
  context: SelectionContext,
  clientTls: boolean,
  exclude?: ExcludedServers,
): StickyChoice | undefined {
  const id = readCookie(cookieHeader, options.cookieName);
  const named = id === undefined ? undefined : pool.byServerId(id);
  if (named !== undefined && pool.acceptsPinned(named) && exclude?.has(named) !== true) return { server: named, setCookie: undefined };
  const server = selector.pick(context, exclude);
  if (server === undefined) return undefined;
  return { server, setCookie: stickyCookie(options, server, clientTls) };
}

/** `name=<server id>; Max-Age=…; Path=/; HttpOnly; Secure; SameSite=…` (RFC 6265 §4.1). */
export function stickyCookie(options: StickyOptions, server: UpstreamServer, clientTls: boolean): string {
  // SameSite=None is ignored by browsers without Secure, and __Secure-/__Host- names require it (RFC 6265bis §4.1.3).
  const secure = options.secure === 'auto' ? clientTls || options.sameSite === 'None' || /^__(secure|host)-/i.test(options.cookieName) : options.secure;
  return serialize(options.cookieName, server.serverId, {
    path: '/',
    httpOnly: true,
    secure,
    sameSite: options.sameSite,
    ...(options.maxAgeSeconds === undefined ? {} : { maxAge: options.maxAgeSeconds }),
  });
}
