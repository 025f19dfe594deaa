/**
 * Graceful shutdown, the same on every runtime (issue 9): readiness fails at once, new connections are still taken
 * for SHUTDOWN_DELAY_MS (time for an outer load balancer to notice), then the listener stops accepting, idle
 * connections close and busy ones answer with `Connection: close`; requests in flight and open WebSocket and Upgrade
 * tunnels get up to SHUTDOWN_TIMEOUT_MS (the drain ends as soon as the last one has), then whatever is still open
 * (streams; tunnels, with 1001) is ended. Always resolves within delay + timeout + a small margin.
 * Only the runtime handles (ListeningServer.close and terminate) differ per runtime.
 */
import type { Logger } from './logging.ts';
import type { ListeningServer } from './runtime/contracts.ts';

/** After the deadline, time for connections just ended to be torn down before the process exits. */
export const SHUTDOWN_MARGIN_MS = 1_000;

export interface Drainable {
  /** Readiness fails and responses carry `Connection: close` from now on. */
  drain(): void;
  /** The listener is about to close: no new WebSocket or Upgrade tunnel opens from now on (503). */
  stopAccepting?(): void;
  /** Requests still in flight, open tunnels included. */
  inFlight(): number;
  /** Ends every exchange still open (the deadline). */
  terminate(): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function drainAndClose(
  server: ListeningServer,
  balancer: Drainable,
  options: { readonly delayMs: number; readonly timeoutMs: number },
  log: Logger,
): Promise<void> {
  balancer.drain();
  log.info('Shutting down: readiness fails now; new connections are refused in {delayMs} ms; requests in flight get {timeoutMs} ms more', {
    event: 'shutdown',
    delayMs: options.delayMs,
    timeoutMs: options.timeoutMs,
    inFlight: balancer.inFlight(),
  });
  if (options.delayMs > 0) await sleep(options.delayMs);
  balancer.stopAccepting?.();
  const closed = server.close().catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadlineAt = performance.now() + options.timeoutMs;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), options.timeoutMs)));
  // A runtime may finish closing its listener while exchanges still run (a relayed WebSocket is no connection of
  // Bun's or Deno's server any more): they get the rest of the drain time too.
  const drained = closed.then(() => untilIdle(balancer, deadlineAt)).then(() => 'closed' as const);
  const first = await Promise.race([drained, deadline]);
  clearTimeout(timer);
  if (first === 'deadline') {
    log.warn('SHUTDOWN_TIMEOUT_MS={timeoutMs} passed with {inFlight} requests still open; ending them', {
      event: 'shutdown_deadline',
      timeoutMs: options.timeoutMs,
      inFlight: balancer.inFlight(),
    });
    balancer.terminate();
    server.terminate?.();
    // Tunnels answer the 1001 with their own close frames; their exchanges end when both sides have closed.
    await Promise.race([Promise.all([closed, untilIdle(balancer, performance.now() + SHUTDOWN_MARGIN_MS)]), sleep(SHUTDOWN_MARGIN_MS)]);
  }
}

/** Resolves once no request or tunnel is in flight, or at `until` (performance.now() time), whichever comes first. */
async function untilIdle(balancer: Drainable, until: number): Promise<void> {
  while (balancer.inFlight() > 0 && performance.now() < until) await sleep(Math.min(25, Math.max(1, until - performance.now())));
}
