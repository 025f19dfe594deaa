/**
 * The TLS material a runtime entrypoint serves and connects with, read from the files the config names:
 * loaded once before anything listens (an error fails the start, naming the file), and the server
 * certificate re-read on SIGHUP. Each runtime registers how it swaps the certificate into its listeners.
 */
import type { ProtocolConfig } from '../../core/config/config-types.ts';
import { logger } from '../../core/logging.ts';
import type { RelayLimits } from '../../core/proxy/websocket/relay.ts';
import type { ProtocolLoad, RuntimeProtocols } from '../../core/runtime/contracts.ts';
import type { ServerTls } from './tls-files.ts';
import { DEFAULT_UPSTREAM_TLS, INSECURE_UPSTREAM_WARNING, type UpstreamTls, upstreamTls } from './upstream-tls.ts';

export type CertificateSwap = (tls: ServerTls) => Promise<void>;

export class ProtocolFiles implements RuntimeProtocols {
  #config: ProtocolConfig | undefined;
  #serverTls: ServerTls | undefined;
  #privateCas: string[] | undefined;
  #upstream: UpstreamTls = DEFAULT_UPSTREAM_TLS;
  readonly #swaps = new Set<CertificateSwap>();
  /** A runtime's own refusal of a setting it cannot honour (Deno and UPSTREAM_TLS_INSECURE). */
  readonly #refuse: ((config: ProtocolConfig) => string | undefined) | undefined;

  constructor(refuse?: (config: ProtocolConfig) => string | undefined) {
    this.#refuse = refuse;
  }

  /** The certificate and key to serve, when TLS_CERT_FILE and TLS_KEY_FILE are set. */
  get serverTls(): ServerTls | undefined {
    return this.#serverTls;
  }

  /** WEBSOCKET_MAX_BUFFERED_BYTES, MAX_WEBSOCKET_MESSAGE_BYTES and WEBSOCKET_IDLE_TIMEOUT_MS for Deno's and Bun's relay (the last for Node's tunnel too). */
  get relayLimits(): RelayLimits {
    const limits = this.#config?.websocket;
    if (limits === undefined) throw new Error('ProtocolFiles.relayLimits read before load()');
    return { maxBufferedBytes: limits.maxBufferedBytes, maxMessageBytes: limits.maxMessageBytes, idleTimeoutMs: limits.idleTimeoutMs };
  }

  /** UPSTREAM_CA_FILE's certificates alone (Deno's client adds them to its roots itself). */
  get privateCas(): readonly string[] | undefined {
    return this.#privateCas;
  }

  /** Options for Node's and Bun's clients: the private CA with the bundled roots, and the insecure flag. */
  get upstream(): UpstreamTls {
    return this.#upstream;
  }

  async load(config: ProtocolConfig): Promise<ProtocolLoad> {
    this.#config = config;
    const errors: string[] = [];
    const warnings: string[] = [];
    const refused = this.#refuse?.(config);
    if (refused !== undefined) errors.push(refused);
    if (config.tls !== undefined || config.upstreamTls.caFile !== undefined) {
      // Loaded only when a file is named: tls-files.ts's node:crypto keeps about 1.1 MiB resident on Bun (bench/repro/bun-rss.mjs).
      const { loadServerTls, loadUpstreamCa } = await import('./tls-files.ts');
      if (config.tls !== undefined) {
        const loaded = loadServerTls(config.tls);
        if (loaded.ok) {
          this.#serverTls = loaded;
          warnings.push(...loaded.warnings);
        } else errors.push(...loaded.errors);
      }
      if (config.upstreamTls.caFile !== undefined) {
        const loaded = loadUpstreamCa(config.upstreamTls.caFile);
        if (loaded.ok) {
          this.#privateCas = loaded.certificates;
          warnings.push(...loaded.warnings);
        } else errors.push(...loaded.errors);
      }
    }
    if (config.upstreamTls.insecure) warnings.push(INSECURE_UPSTREAM_WARNING);
    this.#upstream = await upstreamTls(this.#privateCas, config.upstreamTls.insecure);
    return errors.length > 0 ? { ok: false, errors } : { ok: true, warnings };
  }

  /** A listener serving `serverTls` registers how to swap in a new certificate; the result unregisters it. */
  onCertificateChange(swap: CertificateSwap): () => void {
    this.#swaps.add(swap);
    return () => this.#swaps.delete(swap);
  }

  /** SIGHUP: re-reads TLS_CERT_FILE and TLS_KEY_FILE; on any error the old certificate stays, and the log says why. */
  async reload(): Promise<void> {
    const log = logger('tls');
    const files = this.#config?.tls;
    if (files === undefined) {
      log.info('SIGHUP ignored: TLS_CERT_FILE and TLS_KEY_FILE are not set', { event: 'tls_reload_skipped' });
      return;
    }
    const { loadServerTls } = await import('./tls-files.ts');
    const loaded = loadServerTls(files);
    if (!loaded.ok) {
      log.error('Certificate not reloaded, the old one is still served: {reason}', { event: 'tls_reload_failed', reason: loaded.errors.join('; ') });
      return;
    }
    for (const warning of loaded.warnings) log.warn(warning, { event: 'tls_warning' });
    this.#serverTls = loaded;
    try {
      for (const swap of this.#swaps) await swap(loaded);
    } catch (error) {
      log.error('Certificate reload failed: {reason}', { event: 'tls_reload_failed', reason: error instanceof Error ? error.message : String(error) });
      return;
    }
    log.info('Certificate reloaded from {file}: {subject}, valid until {validTo}', {
      event: 'tls_reloaded',
      file: files.certFile,
      subject: loaded.leaf.subject,
      validTo: loaded.leaf.validTo.toISOString(),
    });
  }
}
