/**
 * Certificate reload for runtimes whose server cannot change its certificate in place (Deno.serve has no such
 * API; Bun's `server.reload({ tls })` was seen to keep the old one): a new listener with the new certificate
 * binds the same port with SO_REUSEPORT, then the old one stops accepting and drains. No connection is dropped
 * (on Bun; Deno's server.shutdown() closes the old listener's WebSockets with 1001: README, per-runtime table).
 */
import type { ListeningServer } from '../../core/runtime/contracts.ts';
import type { ProtocolFiles } from './protocol-files.ts';
import type { ServerTls } from './tls-files.ts';

/** Starts a listener with `tls` on `port` (0 the first time: whatever is free); it must set reusePort whenever TLS is on. */
export type StartListener = (tls: ServerTls | undefined, port: number) => Promise<ListeningServer>;

export async function swappableListener(start: StartListener, protocols: ProtocolFiles, port: number): Promise<ListeningServer> {
  let current = await start(protocols.serverTls, port);
  const bound = current.port;
  let closed = false;
  // Old listeners still finishing their connections (a WebSocket may stay open for hours): the reload is done
  // once the new one listens; the shutdown waits for them all.
  const retiring = new Set<Promise<void>>();
  const unregister = protocols.serverTls === undefined ? () => {} : protocols.onCertificateChange(async (tls) => {
    if (closed) return;
    const next = await start(tls, bound);
    const old = current;
    current = next;
    const drained: Promise<void> = old.close().catch(() => {}).finally(() => retiring.delete(drained));
    retiring.add(drained);
  });
  return {
    port: bound,
    close: async () => {
      closed = true;
      unregister();
      await Promise.all([current.close(), ...retiring]);
    },
  };
}
