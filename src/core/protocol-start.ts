/** Start-up steps for issue 10's settings: the TLS files read by the runtime, and the HTTP_REDIRECT_PORT listener. */
import type { Config } from './config/config-types.ts';
import { formatConfigErrors } from './config/config.ts';
import { logger } from './logging.ts';
import { httpsRedirectHandler } from './proxy/https-redirect.ts';
import type { ListeningServer, RuntimeAdapter } from './runtime/contracts.ts';

/** Reads TLS_CERT_FILE, TLS_KEY_FILE and UPSTREAM_CA_FILE through the runtime: errors stop the start, warnings are logged. */
export async function loadProtocols(runtime: RuntimeAdapter, config: Config): Promise<{ ok: true } | { ok: false; message: string }> {
  const needsFiles = config.tls !== undefined || config.upstreamTls.caFile !== undefined;
  if (runtime.protocols === undefined) {
    return needsFiles ? { ok: false, message: formatConfigErrors([`TLS settings are not supported on ${runtime.name}`]) } : { ok: true };
  }
  const loaded = await runtime.protocols.load(config);
  if (!loaded.ok) return { ok: false, message: formatConfigErrors([...loaded.errors]) };
  const log = logger('tls');
  for (const warning of loaded.warnings) log.warn(warning, { event: 'tls_warning' });
  return { ok: true };
}

/** HTTP_REDIRECT_PORT: plain HTTP answered with a 308 to HTTPS on `httpsPort` (shared by the workers, as PORT is). */
export async function serveRedirect(
  runtime: RuntimeAdapter,
  config: Config,
  httpsPort: number,
  reusePort: boolean,
): Promise<{ ok: true; server: ListeningServer | undefined } | { ok: false; message: string }> {
  if (config.httpRedirectPort === undefined || config.tls === undefined) return { ok: true, server: undefined };
  let server: ListeningServer;
  try {
    server = await runtime.serve(httpsRedirectHandler(httpsPort), { hostname: config.host, port: config.httpRedirectPort, reusePort });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, message: `Fairway cannot listen on HOST=${config.host} HTTP_REDIRECT_PORT=${config.httpRedirectPort}: ${why}` };
  }
  logger('main').info('Redirecting plain HTTP on port {port} to HTTPS on port {httpsPort}', { event: 'redirect_listening', port: server.port, httpsPort });
  return { ok: true, server };
}
