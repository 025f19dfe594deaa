/** What the core and a runtime entrypoint promise each other: how to serve, what a connection says, what to forward with. */
import type { Balancer } from '../balancer.ts';
import type { ProtocolConfig } from '../config/config-types.ts';
import type { LineBatchWriter } from '../stats/access-log.ts';
import type { UpstreamClient } from '../upstream/upstream-client.ts';
import type { WorkerLauncher } from '../workers/supervisor.ts';

export interface ClientInfo {
  /** The peer address of the client's connection, as the runtime reports it. */
  readonly address: string | undefined;
  /**
   * Settles once the response has been fully sent or the connection has failed, where the runtime can
   * tell (Deno's `info.completed`). The core then hands the upstream body to the runtime untouched instead
   * of passing every chunk through a JavaScript stream just to see where it ends.
   */
  readonly completed?: Promise<unknown>;
  /** True when the client reached Fairway over TLS: X-Forwarded-Proto then says `https`. Absent means plain HTTP. */
  readonly secure?: boolean;
}

/** What a runtime serves: a Web request plus what its connection says about the client. */
export type FetchHandler = (request: Request, client: ClientInfo) => Response | Promise<Response>;

export interface ListeningServer {
  /** The port actually bound (differs from the one asked for when that was 0). */
  readonly port: number;
  /**
   * Stops accepting connections, closes idle keep-alive ones, lets requests in flight finish (their responses carry
   * `Connection: close`) and resolves once all connections are gone.
   */
  close(): Promise<void>;
  /** The shutdown deadline passed: ends every connection still open at once. */
  terminate?(): void;
}

export interface ServeOptions {
  readonly hostname: string;
  readonly port: number;
  /** Share the port with the other workers (SO_REUSEPORT): set in worker processes when WORKERS>1. */
  readonly reusePort?: boolean;
  /** Serve HTTPS with this certificate chain and key (PEM); plain HTTP when absent. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Limits on the client connections of the balancer's listener (absent for demo backends); 0 means no limit. */
  readonly clientLimits?: ClientConnectionLimits;
}

/** CLIENT_HEADER_TIMEOUT_MS and CLIENT_KEEPALIVE_TIMEOUT_MS, applied by each runtime's server as far as it can (README, per-runtime table). */
export interface ClientConnectionLimits {
  /** Time to receive a request head. */
  readonly headerTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  readonly keepAliveTimeoutMs: number;
}

/** What each runtime entrypoint provides: its env, a way to serve a fetch handler, and an upstream client. */
export interface RuntimeAdapter {
  readonly name: string;
  readonly version: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Logical CPUs, for WORKERS=auto. */
  readonly hardwareConcurrency: number | undefined;
  serve(handler: FetchHandler, options: ServeOptions): Promise<ListeningServer>;
  /** A native I/O path for the balancer itself, driving the same Exchange lifecycle; `serve` is used when absent. */
  serveBalancer?(balancer: Balancer, options: ServeOptions): Promise<ListeningServer>;
  /** The client for health probes, and for forwarding when the runtime has no native path. */
  readonly upstream: UpstreamClient;
  /** Reads the TLS files the config names before anything listens; without it, TLS settings are refused. */
  readonly protocols?: RuntimeProtocols;
  /** Runs worker processes for WORKERS>1; without it WORKERS must be 1. */
  readonly workers?: WorkerLauncher;
  /** Writes the access log's batches of lines to standard output as bytes; without it, one console.log per batch. */
  readonly writeLogLines?: LineBatchWriter;
}

/** What reading TLS_CERT_FILE, TLS_KEY_FILE and UPSTREAM_CA_FILE gave: errors fail the start; warnings are logged. */
export type ProtocolLoad = { readonly ok: true; readonly warnings: readonly string[] } | { readonly ok: false; readonly errors: readonly string[] };

/** The runtime side of TLS: files are read outside the core (it reads no files). */
export interface RuntimeProtocols {
  load(config: ProtocolConfig): Promise<ProtocolLoad>;
}
