/**
 * Node's HTTP/2 compatibility API (`http2.createSecureServer({ allowHTTP1: true })`) hands the native path
 * the same `(req, res)` as node:http, but with HTTP/2's header block: pseudo-headers and no Host.
 */
import type { HeaderObject } from './node-headers.ts';

/**
 * The request's headers as the HTTP/1.1 header rules expect them: pseudo-headers (`:method`, `:path`,
 * `:scheme`, `:authority`) removed, since undici refuses them, and `:authority` standing in for a missing
 * Host (RFC 9113 §8.3.1), so X-Forwarded-Host and PRESERVE_HOST work as over HTTP/1.1.
 */
export function http1HeadersOf(headers: HeaderObject): HeaderObject {
  const out: HeaderObject = {};
  for (const name in headers) if (!name.startsWith(':')) out[name] = headers[name];
  const authority = headers[':authority'];
  if (out.host === undefined && typeof authority === 'string') out.host = authority;
  return out;
}

/** HTTP/2 forbids connection-specific fields (RFC 9113 §8.2.2): Node drops them with a warning on every response. */
export const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'] as const;
