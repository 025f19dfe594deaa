/**
 * Certificate reload for runtimes whose server cannot change its certificate in place (Deno.serve has no such
 * API; Bun's `server.reload({ tls })` was seen to keep the old one): a new listener with the new certificate
 * binds the same port with SO_REUSEPORT, then the old one stops accepting and drains. No connection is dropped.
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
  const unregister = protocols.serverTls === undefined ? () => {} : protocols.onCertificateChange(async (tls) => {
    if (closed) return;
    const next = await start(tls, bound);
    const old = current;
    current = next;
    await old.close();
  });
  return {
    port: bound,
    close: () => {
      closed = true;
      unregister();
      return current.close();
    },
  };
}
