/**
 * A WebSocket or Upgrade handshake as an Exchange: admitted like any request (server pick, header rules,
 * request id), its lease held until the tunnel ends. The runtimes move the bytes or messages; these few
 * functions tell the Exchange what happened, so accounting, metrics and logs are the lifecycle's.
 */
import type { Admission, Admitted, RequestHead } from '../admission.ts';
import type { Exchange } from '../exchange.ts';
import { requestIdFor } from '../forwarded-headers.ts';
import type { ErrorAnswer } from '../json-error.ts';
import { requestedUpgrade } from './handshake.ts';
import type { TunnelCloser, TunnelRegistry } from './tunnels.ts';

export type AdmittedUpgrade = (Admitted & { readonly ok: false }) | { readonly ok: true; readonly exchange: Exchange; readonly upgrade: string };

/**
 * Admits an upgrade request. The header rules drop Connection and Upgrade as hop-by-hop (RFC 9110 §7.6.1);
 * here they ask the next hop for the same upgrade (§7.8), so they are put back on the upstream headers.
 * `undefined` when the request asks for no upgrade Fairway forwards (h2c, or none): serve it as a plain request.
 * Once shutdown has closed the listener, a new tunnel would outlive the drain: it gets 503, as a new connection
 * would be refused.
 */
export function admitUpgrade(admission: Admission, head: RequestHead, tunnels: TunnelRegistry): AdmittedUpgrade | Promise<AdmittedUpgrade> | undefined {
  const upgrade = requestedUpgrade(head.headers);
  if (upgrade === undefined) return undefined;
  if (!tunnels.accepting) {
    return { ok: false, answer: { status: 503, error: 'Fairway is shutting down and opens no new tunnel', requestId: requestIdFor(head.headers) } };
  }
  const withUpgrade = (admitted: Admitted): AdmittedUpgrade => {
    if (!admitted.ok) return admitted;
    head.headers.set('connection', 'upgrade');
    head.headers.set('upgrade', upgrade);
    return { ok: true, exchange: admitted.exchange, upgrade };
  };
  // A promise only while the request waits in the admission queue (MAX_REQUESTS_PER_SERVER).
  const admitted = admission.admit(head);
  return admitted instanceof Promise ? admitted.then(withUpgrade) : withUpgrade(admitted);
}

/** The server answered `status` and the answer is on its way to the client (101, or a refusal passed through on Node). */
function answered(exchange: Exchange, status: number): void {
  // Throwaway headers: the tunnel rewrote the real ones itself; this stops the upstream timer and counts the response.
  exchange.responseHead(status, new Headers(), false);
  exchange.headSent(true);
}

/**
 * The server accepted and the tunnel is open: it counts as in flight on its server (least connections,
 * /lb/stats) until the returned function is called, when both sides have closed. A server going unhealthy
 * meanwhile does not cut it; `tunnels.closeAll()` at shutdown does, through `close`.
 */
export function tunnelOpened(exchange: Exchange, tunnels: TunnelRegistry, close: TunnelCloser): () => void {
  answered(exchange, 101);
  const handle = tunnels.opened(exchange.server, close);
  return () => {
    handle.ended();
    exchange.end();
  };
}

/** Node: the server refused the upgrade and its own response is being relayed; call the result once it has been. */
export function refusalPassedOn(exchange: Exchange, status: number): () => void {
  answered(exchange, status);
  return () => exchange.end();
}

/**
 * Deno and Bun: the server refused the handshake, but the runtime's WebSocket client exposes no status,
 * headers or body (a runtime limit). The client gets a 502 with the reason; it counts as an error against the
 * server, without marking it unhealthy: the server answered.
 */
export function handshakeRefused(exchange: Exchange, reason: string): ErrorAnswer | undefined {
  // The status is the server's answer, not an internal: the client may see why its handshake failed.
  const action = exchange.unrepresentable(new Error(reason), reason);
  return action.do === 'answer' ? action.answer : undefined;
}
