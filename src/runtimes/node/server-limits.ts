/** CLIENT_HEADER_TIMEOUT_MS and CLIENT_KEEPALIVE_TIMEOUT_MS as node:http server options. */
import type { ServerOptions } from 'node:http';
import type { ClientConnectionLimits } from '../../core/runtime/contracts.ts';

/** node:http checks `headersTimeout` only every `connectionsCheckingInterval` (30 s by default); this keeps it within a quarter of the limit. */
const MIN_CHECK_INTERVAL_MS = 50;

export function nodeServerLimits(limits: ClientConnectionLimits | undefined): ServerOptions {
  const header = limits?.headerTimeoutMs ?? 0;
  const keepAlive = limits?.keepAliveTimeoutMs ?? 0;
  return {
    // Node's default 300 s limit on receiving a whole request would cut long uploads; CLIENT_BODY_TIMEOUT_MS bounds the gaps instead.
    requestTimeout: 0,
    // 0 turns each off in node:http too, matching the configuration's rule.
    headersTimeout: header,
    keepAliveTimeout: keepAlive,
    ...(header > 0 ? { connectionsCheckingInterval: Math.max(MIN_CHECK_INTERVAL_MS, Math.min(30_000, Math.floor(header / 4))) } : {}),
  };
}
