/**
 * TLS options for connections to https:// servers (forwarding, health checks, WebSocket tunnels) from
 * UPSTREAM_CA_FILE and UPSTREAM_TLS_INSECURE, in the shape Node's tls.connect, undici's `connect` and Bun's
 * fetch and WebSocket `tls` all take. (Deno's client takes `Deno.createHttpClient({ caCerts })` instead.)
 */
export interface UpstreamTls {
  /** Trusted CAs; undefined keeps the runtime's default store. */
  readonly ca: string[] | undefined;
  readonly rejectUnauthorized: boolean;
}

/**
 * A `ca` option replaces the default trust store on Node and Bun rather than adding to it, so a private CA is
 * given together with the bundled Mozilla roots: public servers keep working beside private ones.
 */
export async function upstreamTls(privateCas: readonly string[] | undefined, insecure: boolean): Promise<UpstreamTls> {
  if (privateCas === undefined || privateCas.length === 0) return { ca: undefined, rejectUnauthorized: !insecure };
  // node:tls is loaded only for a private CA: on Bun it keeps about 1.7 MiB resident (bench/repro/bun-rss.mjs).
  const { rootCertificates } = await import('node:tls');
  return { ca: [...rootCertificates, ...privateCas], rejectUnauthorized: !insecure };
}

/** Before UPSTREAM_CA_FILE and UPSTREAM_TLS_INSECURE are read: the runtime's own store, certificates checked. */
export const DEFAULT_UPSTREAM_TLS: UpstreamTls = { ca: undefined, rejectUnauthorized: true };

/** The warning logged at start with UPSTREAM_TLS_INSECURE=true. */
export const INSECURE_UPSTREAM_WARNING =
  'UPSTREAM_TLS_INSECURE=true: certificates of https:// servers are not checked, so anyone on the path can impersonate them; use it for development only';
