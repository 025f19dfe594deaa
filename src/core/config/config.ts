/** Turns the environment record (passed in by each runtime entrypoint) into a validated `Config`, or a list of every problem found. */
import { z } from 'zod';
import { ALGORITHM_NAMES, FALLBACK_ALGORITHM_NAMES, type FallbackAlgorithmName } from '../selection/algorithm.ts';
import { COOKIE_NAME, describeHashKey, type HashKeySource, parseHashKey } from '../selection/hash-key.ts';
import type { SameSite } from '../selection/sticky.ts';
import { ACCESS_LOG_MODES } from '../stats/access-log.ts';
import { LOG_FORMATS, LOG_LEVELS, MAX_WORKERS } from './config-types.ts';
import type { Config, ProtocolConfig, ServerConfig, WorkersSetting } from './config-types.ts';
import { RESILIENCE_DEFAULTS, type ResilienceConfig } from './resilience-types.ts';
import { formatStatusList, parseStatusList, type StatusList } from './status-list.ts';
import { DEFAULT_RESPONSE_BUFFER_BYTES } from '../proxy/response-buffering.ts';

type Env = Readonly<Record<string, string | undefined>>;
export type ParseConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

/** Largest delay timers accept: above 2^31 - 1 ms, setTimeout fires almost at once instead (Node, Deno and Bun alike). */
const MAX_TIMER_MS = 2_147_483_647;
/** Weights are relative; a cap keeps sums of weights far from float precision limits in weighted selection. */
const MAX_WEIGHT = 1_000_000;
/** Strict digits only: Number() and parseInt() would accept "1e3", " ", "0x10" or "10abc". */
const DIGITS = /^\d+$/;

/** Values are JSON-quoted so stray spaces, quotes and newlines from a .env file are visible in the message. */
const show = (value: string): string => JSON.stringify(value);

/** Each environment variable is a string or absent; a custom message keeps zod's generic wording out of user-facing text. */
const envString = (name: string) => z.string({ error: `${name} must be a string` }).optional();

/** An empty string is treated as unset, so `PORT=` in a .env file falls back to the default. */
const isUnset = (raw: string | undefined): raw is undefined | '' => raw === undefined || raw === '';

function oneOf<const T extends readonly string[]>(name: string, allowed: T, fallback: T[number]) {
  const isAllowed = (value: string): value is T[number] => (allowed as readonly string[]).includes(value);
  return envString(name).transform((raw, ctx): T[number] => {
    if (isUnset(raw)) return fallback;
    if (isAllowed(raw)) return raw;
    ctx.addIssue(`${name}=${show(raw)} is not allowed; use one of: ${allowed.join(', ')}`);
    return z.NEVER;
  });
}

function port(name: string, fallback: number) {
  return envString(name).transform((raw, ctx): number => {
    if (isUnset(raw)) return fallback;
    const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
    if (value >= 0 && value <= 65535) return value;
    ctx.addIssue(`${name}=${show(raw)} is not allowed; use an integer from 0 to 65535`);
    return z.NEVER;
  });
}

/**
 * A duration in milliseconds. One rule for every duration in the configuration: 0 means no limit. Where 0
 * cannot mean that (a period, or a limit whose absence would stall other work), `zeroRefused` says why.
 */
function milliseconds(name: string, fallback: number, zeroRefused?: string) {
  return envString(name).transform((raw, ctx): number => {
    if (isUnset(raw)) return fallback;
    const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
    if (value === 0 && zeroRefused !== undefined) {
      ctx.addIssue(`${name}=${show(raw)} is not allowed: ${zeroRefused}; use a positive integer number of milliseconds no greater than ${MAX_TIMER_MS}`);
      return z.NEVER;
    }
    if (value >= 0 && value <= MAX_TIMER_MS) return value;
    const zero = zeroRefused === undefined ? '0 (no limit) or ' : '';
    ctx.addIssue(`${name}=${show(raw)} is not allowed; use ${zero}a positive integer number of milliseconds no greater than ${MAX_TIMER_MS}`);
    return z.NEVER;
  });
}

const BOOLEAN_WORDS = { true: true, false: false, '1': true, '0': false, yes: true, no: false, on: true, off: false } as const;

function flag(name: string, fallback: boolean) {
  return envString(name).transform((raw, ctx): boolean => {
    if (isUnset(raw)) return fallback;
    const value = (BOOLEAN_WORDS as Record<string, boolean | undefined>)[raw.toLowerCase()];
    if (value !== undefined) return value;
    ctx.addIssue(`${name}=${show(raw)} is not allowed; use true or false`);
    return z.NEVER;
  });
}

/** VIA: `on` or `off` (the words the README uses), and the usual boolean words as for every flag. */
function onOff(name: string, fallback: boolean) {
  return envString(name).transform((raw, ctx): boolean => {
    if (isUnset(raw)) return fallback;
    const value = (BOOLEAN_WORDS as Record<string, boolean | undefined>)[raw.toLowerCase()];
    if (value !== undefined) return value;
    ctx.addIssue(`${name}=${show(raw)} is not allowed; use on or off`);
    return z.NEVER;
  });
}

/** A byte count, or undefined (no limit) when unset. */
function byteLimit(name: string) {
  return envString(name).transform((raw, ctx): number | undefined => {
    if (isUnset(raw)) return undefined;
    const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
    if (value >= 1 && Number.isSafeInteger(value)) return value;
    ctx.addIssue(`${name}=${show(raw)} is not allowed; use a positive integer number of bytes, or leave it unset for no limit`);
    return z.NEVER;
  });
}

const workers = envString('WORKERS').transform((raw, ctx): WorkersSetting => {
  if (isUnset(raw)) return 1;
  if (raw === 'auto') return 'auto';
  const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
  if (value >= 1 && value <= MAX_WORKERS) return value;
  ctx.addIssue(`WORKERS=${show(raw)} is not allowed; use a positive integer up to ${MAX_WORKERS}, or auto for one per CPU`);
  return z.NEVER;
});

const host = envString('HOST').transform((raw, ctx): string => {
  if (isUnset(raw)) return '0.0.0.0';
  // A URL or a quoted/padded value here would otherwise surface later as an opaque listen() failure.
  if (!/[\s/]/.test(raw)) return raw;
  ctx.addIssue(`HOST=${show(raw)} is not allowed; use a hostname or IP address such as 0.0.0.0, 127.0.0.1 or ::`);
  return z.NEVER;
});

// --- Observability and control: ACCESS_LOG, ADMIN_TOKEN, ADMIN_PORT, ADMIN_HOST (issue 11) ---

/** A bearer token shorter than this could be guessed over the network. */
const MIN_ADMIN_TOKEN_LENGTH = 16;

/** The admin API's bearer token. Its value never appears in a message: a config error must not leak a near-miss secret. */
const adminToken = envString('ADMIN_TOKEN').transform((raw, ctx): string | undefined => {
  if (isUnset(raw)) return undefined;
  // RFC 6750 §2.1: a bearer token is visible ASCII without spaces.
  if (raw.length >= MIN_ADMIN_TOKEN_LENGTH && /^[\x21-\x7e]+$/.test(raw)) return raw;
  ctx.addIssue(
    `ADMIN_TOKEN (value not shown) is not allowed: it has ${raw.length} characters${/^[\x21-\x7e]*$/.test(raw) ? '' : ' including spaces or non-ASCII'}; ` +
      `use at least ${MIN_ADMIN_TOKEN_LENGTH} visible ASCII characters without spaces, e.g. the output of openssl rand -hex 32`,
  );
  return z.NEVER;
});

const adminPort = port('ADMIN_PORT', -1).transform((value): number | undefined => (value === -1 ? undefined : value));

const adminHost = envString('ADMIN_HOST').transform((raw, ctx): string => {
  // Loopback by default: the admin listener exists to keep /lb/* off the public interface.
  if (isUnset(raw)) return '127.0.0.1';
  if (!/[\s/]/.test(raw)) return raw;
  ctx.addIssue(`ADMIN_HOST=${show(raw)} is not allowed; use a hostname or IP address such as 127.0.0.1 or ::1`);
  return z.NEVER;
});

/** Settings that only make sense together: reported with the others, after each has been checked alone. */
function checkObservabilitySettings(env: { PORT: number; ADMIN_PORT: number | undefined }, ctx: z.RefinementCtx): void {
  // Also runs when other variables failed (see `when` below), so either value may be missing.
  if (typeof env.ADMIN_PORT === 'number' && env.ADMIN_PORT !== 0 && env.ADMIN_PORT === env.PORT) {
    ctx.addIssue(`ADMIN_PORT="${env.ADMIN_PORT}" is not allowed; it must differ from PORT (${env.PORT}), or be unset to serve /lb/* on PORT`);
  }
}

// --- end of observability and control settings ---

const healthCheckPath = envString('HEALTH_CHECK_PATH').transform((raw, ctx): string => {
  if (isUnset(raw)) return '/health';
  // "//x" is refused too: resolved with new URL(path, origin) it names another host, and appended to an origin it is a typo.
  if (raw.startsWith('/') && !raw.startsWith('//') && !/\s/.test(raw)) return raw;
  ctx.addIssue(`HEALTH_CHECK_PATH=${show(raw)} is not allowed; use a path starting with a single "/", e.g. /health`);
  return z.NEVER;
});

/** "a", "a and b", "a, b and c". */
const listing = (parts: readonly string[]): string => parts.length < 2 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;

/** Masks `user:password@` so a rejected URL's password never reaches logs through an error message. */
const redact = (item: string): string => item.replace(/^([a-z][a-z\d+.-]*:\/\/[^/?#@:]*:)[^/?#]*@/i, '$1***@');

function parseWeight(params: readonly string[], describe: string, report: (message: string) => void): number | undefined {
  let weight: number | undefined;
  let seen = false;
  let ok = true;
  for (const param of params) {
    const eq = param.indexOf('=');
    const key = (eq === -1 ? param : param.slice(0, eq)).trim();
    const value = eq === -1 ? '' : param.slice(eq + 1).trim();
    if (param.trim() === '') {
      report(`${describe}: nothing follows a ";"; write ;weight=N or remove the ";"`);
      ok = false;
      continue;
    }
    if (key !== 'weight') {
      report(`${describe}: unknown parameter ${show(param.trim())}; the only parameter allowed is ;weight=N`);
      ok = false;
      continue;
    }
    if (seen) {
      report(`${describe}: weight is given more than once; give ;weight=N at most once`);
      ok = false;
      continue;
    }
    seen = true;
    const n = DIGITS.test(value) ? Number(value) : Number.NaN;
    if (n >= 1 && n <= MAX_WEIGHT) {
      weight = n;
    } else {
      const limit = n > MAX_WEIGHT ? ` no greater than ${MAX_WEIGHT}` : '';
      report(`${describe}: weight must be a positive integer${limit}`);
      ok = false;
    }
  }
  return ok ? (weight ?? 1) : undefined;
}

/** Returns the server's origin, or undefined after reporting why the URL is not usable. */
function parseOrigin(text: string, describe: string, report: (message: string) => void): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    report(`${describe} is not a valid URL; use e.g. http://10.0.0.1:5001`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    // "localhost:5001" parses with "localhost:" as its scheme; point at the missing "http://" instead of leaving it a puzzle.
    const hint = text.includes('//') ? '' : `; include the scheme, e.g. http://${text}`;
    report(`${describe} is not an http or https URL${hint}`);
    return undefined;
  }
  // Comparing href with origin also catches a bare "?" or "#", which leave search and hash empty.
  if (url.href === `${url.origin}/`) return url.origin;
  const extras: string[] = [];
  if (url.username !== '' || url.password !== '') extras.push('a user:password');
  if (url.pathname !== '/') extras.push(`a path (${url.pathname})`);
  if (url.search !== '' || text.includes('?')) extras.push('a query');
  if (url.hash !== '' || text.includes('#')) extras.push('a fragment');
  report(
    `${describe} must be an origin only but has ${listing(extras)}; use ${url.origin} ` +
      `(Fairway forwards each request's own path to the server's origin)`,
  );
  return undefined;
}

const backendServers = envString('BACKEND_SERVERS').transform((raw, ctx): readonly ServerConfig[] | undefined => {
  // Unset means demo mode; a value of only spaces is almost certainly an empty .env entry, not a request for no servers.
  if (raw === undefined || raw.trim() === '') return undefined;
  const report = (message: string) => ctx.addIssue(message);
  const servers: ServerConfig[] = [];
  const itemsByOrigin = new Map<string, number[]>();
  let failed = false;

  raw.split(',').forEach((rawItem, index) => {
    const item = rawItem.trim();
    const describe = `BACKEND_SERVERS item ${index + 1} ${show(redact(item))}`;
    if (item === '') {
      report(`${describe} is empty; list server URLs separated by single commas, with no trailing comma`);
      failed = true;
      return;
    }
    const [urlText = '', ...params] = item.split(';');
    const origin = parseOrigin(urlText.trim(), describe, report);
    const weight = parseWeight(params, describe, report);
    if (origin !== undefined) itemsByOrigin.set(origin, [...(itemsByOrigin.get(origin) ?? []), index + 1]);
    if (origin === undefined || weight === undefined) {
      failed = true;
      return;
    }
    servers.push({ url: origin, weight });
  });

  for (const [origin, items] of itemsByOrigin) {
    if (items.length < 2) continue;
    const times = items.length === 2 ? 'twice' : `${items.length} times`;
    report(
      `BACKEND_SERVERS lists ${origin} ${times} (items ${listing(items.map(String))}); ` +
        'list each server once and use ;weight=N to send it more traffic',
    );
    failed = true;
  }
  return failed ? z.NEVER : servers;
});

// ---- Resilience settings (issue 9): health thresholds, outlier ejection, retries, slow start, panic, overload, shutdown.

/** A whole number from `min` to `max`; `what` names the unit in the message (e.g. "probes", "percent"). */
function wholeNumber(name: string, fallback: number, min: number, max: number, what: string) {
  return envString(name).transform((raw, ctx): number => {
    if (isUnset(raw)) return fallback;
    const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
    if (value >= min && value <= max) return value;
    ctx.addIssue(`${name}=${show(raw)} is not allowed; use a whole number of ${what} from ${min} to ${max}`);
    return z.NEVER;
  });
}

/** A duration in ms where 0 has a meaning (off, or no limit), unlike `milliseconds`. */
function optionalMilliseconds(name: string, fallback: number, zeroMeans: string) {
  return envString(name).transform((raw, ctx): number => {
    if (isUnset(raw)) return fallback;
    const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
    if (value >= 0 && value <= MAX_TIMER_MS) return value;
    ctx.addIssue(`${name}=${show(raw)} is not allowed; use a whole number of milliseconds from 0 (${zeroMeans}) to ${MAX_TIMER_MS}`);
    return z.NEVER;
  });
}

/** A status list such as 200-399 or 502,503,504, each status within `from`..`to`; unset gives `fallback`. */
function statusList<T extends StatusList | undefined>(name: string, fallback: T, from: number, to: number) {
  return envString(name).transform((raw, ctx): StatusList | T => {
    if (isUnset(raw)) return fallback;
    const parsed = parseStatusList(raw);
    const outside = parsed.ok ? parsed.list.find((r) => r.from < from || r.to > to) : undefined;
    if (parsed.ok && outside === undefined) return parsed.list;
    const problem = parsed.ok ? `${formatStatusList([outside!])} is outside ${from}-${to}` : parsed.problem;
    ctx.addIssue(
      `${name}=${show(raw)} is not allowed (${problem}); use statuses from ${from} to ${to} and ranges, comma-separated, e.g. ${
        from === 500 ? '502,503,504' : '200-399'
      }`,
    );
    return z.NEVER;
  });
}

const R = RESILIENCE_DEFAULTS;
/** Large enough for any sane use, small enough that a typo (a missing "ms") is caught. */
const MAX_COUNT = 100;

const resilienceFields = {
  HEALTH_CHECK_RISE: wholeNumber('HEALTH_CHECK_RISE', R.healthCheckRise, 1, MAX_COUNT, 'probes'),
  HEALTH_CHECK_FALL: wholeNumber('HEALTH_CHECK_FALL', R.healthCheckFall, 1, MAX_COUNT, 'probes'),
  HEALTH_CHECK_EXPECT: statusList('HEALTH_CHECK_EXPECT', undefined, 100, 599),
  OUTLIER_CONSECUTIVE_FAILURES: wholeNumber('OUTLIER_CONSECUTIVE_FAILURES', R.outlierConsecutiveFailures, 0, MAX_COUNT, 'failures (0 turns ejection off)'),
  OUTLIER_BASE_EJECTION_MS: milliseconds('OUTLIER_BASE_EJECTION_MS', R.outlierBaseEjectionMs),
  OUTLIER_MAX_EJECTION_MS: milliseconds('OUTLIER_MAX_EJECTION_MS', R.outlierMaxEjectionMs),
  OUTLIER_MAX_EJECTION_PERCENT: wholeNumber('OUTLIER_MAX_EJECTION_PERCENT', R.outlierMaxEjectionPercent, 0, 100, 'percent'),
  OUTLIER_COUNT_5XX: flag('OUTLIER_COUNT_5XX', R.outlierCount5xx),
  RETRIES: wholeNumber('RETRIES', R.retries, 0, 10, 'retries'),
  // 4xx are allowed for 429 (Too Many Requests); 1xx to 3xx are never failures.
  RETRY_ON_STATUS: statusList('RETRY_ON_STATUS', R.retryOnStatus, 400, 599),
  RETRY_DEADLINE_MS: optionalMilliseconds('RETRY_DEADLINE_MS', R.retryDeadlineMs, 'no overall limit'),
  RETRY_BUDGET_PERCENT: wholeNumber('RETRY_BUDGET_PERCENT', R.retryBudgetPercent, 0, 100, 'percent'),
  // Each buffered body is held in memory while its request is in flight, so the bound is deliberately modest.
  RETRY_BUFFER_BYTES: wholeNumber('RETRY_BUFFER_BYTES', R.retryBufferBytes, 0, 16 * 1024 * 1024, 'bytes (0 buffers nothing)'),
  UPSTREAM_CONNECT_TIMEOUT_MS: optionalMilliseconds('UPSTREAM_CONNECT_TIMEOUT_MS', R.upstreamConnectTimeoutMs, 'no limit'),
  SLOW_START_MS: optionalMilliseconds('SLOW_START_MS', R.slowStartMs, 'off'),
  PANIC_THRESHOLD_PERCENT: wholeNumber('PANIC_THRESHOLD_PERCENT', R.panicThresholdPercent, 0, 100, 'percent (0 is off)'),
  MAX_REQUESTS_PER_SERVER: wholeNumber('MAX_REQUESTS_PER_SERVER', 0, 0, 1_000_000, 'requests (0 is no cap)'),
  QUEUE_TIMEOUT_MS: milliseconds('QUEUE_TIMEOUT_MS', R.queueTimeoutMs),
  QUEUE_MAX_LENGTH: wholeNumber('QUEUE_MAX_LENGTH', R.queueMaxLength, 0, 1_000_000, 'requests'),
  SHUTDOWN_DELAY_MS: optionalMilliseconds('SHUTDOWN_DELAY_MS', R.shutdownDelayMs, 'none'),
  // No 0 here: shutdown must always end (issue 9), and the default stays under Docker's 10 s grace.
  SHUTDOWN_TIMEOUT_MS: milliseconds('SHUTDOWN_TIMEOUT_MS', R.shutdownTimeoutMs, 'shutdown must always end, so the drain needs a bound'),
};

type ResilienceEnv = { readonly [K in keyof typeof resilienceFields]: z.output<(typeof resilienceFields)[K]> };

const resilienceConfig = (env: ResilienceEnv): ResilienceConfig => ({
  healthCheckRise: env.HEALTH_CHECK_RISE,
  healthCheckFall: env.HEALTH_CHECK_FALL,
  healthCheckExpect: env.HEALTH_CHECK_EXPECT,
  outlierConsecutiveFailures: env.OUTLIER_CONSECUTIVE_FAILURES,
  outlierBaseEjectionMs: env.OUTLIER_BASE_EJECTION_MS,
  outlierMaxEjectionMs: env.OUTLIER_MAX_EJECTION_MS,
  outlierMaxEjectionPercent: env.OUTLIER_MAX_EJECTION_PERCENT,
  outlierCount5xx: env.OUTLIER_COUNT_5XX,
  retries: env.RETRIES,
  retryOnStatus: env.RETRY_ON_STATUS,
  retryDeadlineMs: env.RETRY_DEADLINE_MS,
  retryBudgetPercent: env.RETRY_BUDGET_PERCENT,
  retryBufferBytes: env.RETRY_BUFFER_BYTES,
  upstreamConnectTimeoutMs: env.UPSTREAM_CONNECT_TIMEOUT_MS,
  slowStartMs: env.SLOW_START_MS,
  panicThresholdPercent: env.PANIC_THRESHOLD_PERCENT,
  maxRequestsPerServer: env.MAX_REQUESTS_PER_SERVER === 0 ? undefined : env.MAX_REQUESTS_PER_SERVER,
  queueTimeoutMs: env.QUEUE_TIMEOUT_MS,
  queueMaxLength: env.QUEUE_MAX_LENGTH,
  shutdownDelayMs: env.SHUTDOWN_DELAY_MS,
  shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
});

// ---- End of resilience settings.

// --- Protocols: WebSocket limits, TLS to clients, HTTPS to servers (issue 10) ---

const MIB = 1024 * 1024;

/** A byte count with a default; unlike `byteLimit`, unset means the default, never "no limit". */
function byteCount(name: string, fallback: number) {
  return envString(name).transform((raw, ctx): number => {
    if (isUnset(raw)) return fallback;
    const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
    if (value >= 1 && Number.isSafeInteger(value)) return value;
    ctx.addIssue(`${name}=${show(raw)} is not allowed; use a positive integer number of bytes (default ${fallback})`);
    return z.NEVER;
  });
}

/** A file path, read later by the runtime (the core reads no files); surrounding spaces are a .env typo, not part of the name. */
function filePath(name: string) {
  return envString(name).transform((raw, ctx): string | undefined => {
    if (raw === undefined || raw.trim() === '') return undefined;
    if (raw === raw.trim()) return raw;
    ctx.addIssue(`${name}=${show(raw)} is not allowed; remove the spaces around the file path`);
    return z.NEVER;
  });
}

function optionalPort(name: string) {
  return envString(name).transform((raw, ctx): number | undefined => {
    if (isUnset(raw)) return undefined;
    const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
    if (value >= 0 && value <= 65535) return value;
    ctx.addIssue(`${name}=${show(raw)} is not allowed; use an integer from 0 to 65535, or leave it unset`);
    return z.NEVER;
  });
}

/** Bun refuses larger WebSocket messages by default too (maxPayloadLength), and Deno drops messages past 64 MiB. */
const DEFAULT_MAX_WEBSOCKET_MESSAGE_BYTES = 16 * MIB;
/** Room for two messages of the default maximum size waiting for a slow reader. */
const DEFAULT_WEBSOCKET_MAX_BUFFERED_BYTES = 32 * MIB;

const PROTOCOL_SETTINGS = {
  WEBSOCKET_MAX_BUFFERED_BYTES: byteCount('WEBSOCKET_MAX_BUFFERED_BYTES', DEFAULT_WEBSOCKET_MAX_BUFFERED_BYTES),
  MAX_WEBSOCKET_MESSAGE_BYTES: byteCount('MAX_WEBSOCKET_MESSAGE_BYTES', DEFAULT_MAX_WEBSOCKET_MESSAGE_BYTES),
  WEBSOCKET_IDLE_TIMEOUT_MS: milliseconds('WEBSOCKET_IDLE_TIMEOUT_MS', 0),
  TLS_CERT_FILE: filePath('TLS_CERT_FILE'),
  TLS_KEY_FILE: filePath('TLS_KEY_FILE'),
  HTTP_REDIRECT_PORT: optionalPort('HTTP_REDIRECT_PORT'),
  UPSTREAM_CA_FILE: filePath('UPSTREAM_CA_FILE'),
  UPSTREAM_TLS_INSECURE: flag('UPSTREAM_TLS_INSECURE', false),
};

type ProtocolEnv = { [K in keyof typeof PROTOCOL_SETTINGS]: z.output<(typeof PROTOCOL_SETTINGS)[K]> } & { PORT: number; ADMIN_PORT: number | undefined };

/**
 * Checks between settings. Zod runs it even when other variables failed (`when` below), so every problem is
 * reported at once; a variable that failed on its own holds a marker object here, hence the type checks.
 */
function checkProtocolSettings(env: unknown, ctx: z.RefinementCtx): void {
  if (typeof env !== 'object' || env === null) return;
  const e = env as Partial<Record<keyof ProtocolEnv, unknown>>;
  // A variable that failed on its own counts as set here, so it gets no second message.
  const certSet = e.TLS_CERT_FILE !== undefined;
  if (certSet !== (e.TLS_KEY_FILE !== undefined)) {
    const [set, missing] = certSet ? ['TLS_CERT_FILE', 'TLS_KEY_FILE'] : ['TLS_KEY_FILE', 'TLS_CERT_FILE'];
    ctx.addIssue(`${set} is set but ${missing} is not; set both to serve HTTPS, or neither for plain HTTP`);
  }
  if (typeof e.HTTP_REDIRECT_PORT === 'number') {
    if (!certSet && e.TLS_KEY_FILE === undefined) {
      ctx.addIssue(
        `HTTP_REDIRECT_PORT=${e.HTTP_REDIRECT_PORT} redirects to HTTPS, which needs TLS_CERT_FILE and TLS_KEY_FILE; set them or unset HTTP_REDIRECT_PORT`,
      );
    } else if (e.HTTP_REDIRECT_PORT !== 0 && e.HTTP_REDIRECT_PORT === e.PORT) {
      ctx.addIssue(`HTTP_REDIRECT_PORT=${e.HTTP_REDIRECT_PORT} is the same as PORT; use a different port for the plain-HTTP redirect`);
    } else if (e.HTTP_REDIRECT_PORT !== 0 && e.HTTP_REDIRECT_PORT === e.ADMIN_PORT) {
      ctx.addIssue(`HTTP_REDIRECT_PORT=${e.HTTP_REDIRECT_PORT} is the same as ADMIN_PORT; use a different port for the plain-HTTP redirect`);
    }
  }
  const buffered = e.WEBSOCKET_MAX_BUFFERED_BYTES;
  const message = e.MAX_WEBSOCKET_MESSAGE_BYTES;
  if (typeof buffered === 'number' && typeof message === 'number' && buffered < message) {
    ctx.addIssue(
      `WEBSOCKET_MAX_BUFFERED_BYTES=${buffered} is smaller than MAX_WEBSOCKET_MESSAGE_BYTES=${message}: one message of the allowed size ` +
        'would close its tunnel; make it at least as large',
    );
  }
}

function protocolConfig(env: ProtocolEnv): ProtocolConfig {
  return {
    websocket: {
      maxBufferedBytes: env.WEBSOCKET_MAX_BUFFERED_BYTES,
      maxMessageBytes: env.MAX_WEBSOCKET_MESSAGE_BYTES,
      idleTimeoutMs: env.WEBSOCKET_IDLE_TIMEOUT_MS,
    },
    tls: env.TLS_CERT_FILE !== undefined && env.TLS_KEY_FILE !== undefined ? { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE } : undefined,
    httpRedirectPort: env.HTTP_REDIRECT_PORT,
    upstreamTls: { caFile: env.UPSTREAM_CA_FILE, insecure: env.UPSTREAM_TLS_INSECURE },
  };
}

// --- end of protocol settings ---

// ---- Selection settings (issue 13): HASH_KEY, HASH_FALLBACK, STICKY_COOKIE* ----

/** Browsers cap Max-Age at 400 days (RFC 6265bis §5.6.2), and hono's serializer refuses more. */
const MAX_COOKIE_AGE_SECONDS = 34_560_000;

const hashKey = envString('HASH_KEY').transform((raw, ctx): HashKeySource | undefined => {
  if (isUnset(raw)) return undefined;
  const parsed = parseHashKey(raw);
  if (typeof parsed !== 'string') return parsed;
  ctx.addIssue(`HASH_KEY=${show(raw)} is not allowed; ${parsed}`);
  return z.NEVER;
});

const stickyCookieName = envString('STICKY_COOKIE').transform((raw, ctx): string | undefined => {
  if (isUnset(raw)) return undefined;
  if (COOKIE_NAME.test(raw)) return raw;
  ctx.addIssue(`STICKY_COOKIE=${show(raw)} is not allowed; use a cookie name of letters, digits and !#$%&'*.^\`|~+-_, e.g. fairway_server`);
  return z.NEVER;
});

const stickyMaxAge = envString('STICKY_COOKIE_MAX_AGE').transform((raw, ctx): number | undefined => {
  if (isUnset(raw)) return undefined;
  const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
  if (value >= 1 && value <= MAX_COOKIE_AGE_SECONDS) return value;
  ctx.addIssue(
    `STICKY_COOKIE_MAX_AGE=${
      show(raw)
    } is not allowed; use a number of seconds from 1 to ${MAX_COOKIE_AGE_SECONDS} (400 days), or leave it unset for a session cookie`,
  );
  return z.NEVER;
});

const SAME_SITE_VALUES: Readonly<Record<string, SameSite>> = { lax: 'Lax', strict: 'Strict', none: 'None' };
const stickySameSite = envString('STICKY_COOKIE_SAMESITE').transform((raw, ctx): SameSite | undefined => {
  if (isUnset(raw)) return undefined;
  const value = SAME_SITE_VALUES[raw.toLowerCase()];
  if (value !== undefined) return value;
  ctx.addIssue(`STICKY_COOKIE_SAMESITE=${show(raw)} is not allowed; use Lax, Strict or None`);
  return z.NEVER;
});

const stickySecure = envString('STICKY_COOKIE_SECURE').transform((raw, ctx): boolean | 'auto' | undefined => {
  if (isUnset(raw)) return undefined;
  if (raw.toLowerCase() === 'auto') return 'auto';
  const value = (BOOLEAN_WORDS as Record<string, boolean | undefined>)[raw.toLowerCase()];
  if (value !== undefined) return value;
  ctx.addIssue(`STICKY_COOKIE_SECURE=${show(raw)} is not allowed; use true, false, or auto (Secure when the client came over TLS)`);
  return z.NEVER;
});

const hashFallback = envString('HASH_FALLBACK').transform((raw, ctx): FallbackAlgorithmName | undefined => {
  if (isUnset(raw)) return undefined;
  if ((FALLBACK_ALGORITHM_NAMES as readonly string[]).includes(raw)) return raw as FallbackAlgorithmName;
  ctx.addIssue(`HASH_FALLBACK=${show(raw)} is not allowed; use one of: ${FALLBACK_ALGORITHM_NAMES.join(', ')}`);
  return z.NEVER;
});

const selectionFields = {
  HASH_KEY: hashKey,
  HASH_FALLBACK: hashFallback,
  STICKY_COOKIE: stickyCookieName,
  STICKY_COOKIE_MAX_AGE: stickyMaxAge,
  STICKY_COOKIE_SAMESITE: stickySameSite,
  STICKY_COOKIE_SECURE: stickySecure,
};

type SelectionEnv = { [K in keyof typeof selectionFields]: z.output<(typeof selectionFields)[K]> } & { ALGORITHM: string };

/** The selection part of Config, with the checks that involve several settings; problems go to `report`. */
function selectionSettings(env: SelectionEnv, report: (message: string) => void): Pick<Config, 'hashKey' | 'hashFallback' | 'sticky'> {
  if (env.ALGORITHM !== 'consistent_hash') {
    const given = { HASH_KEY: env.HASH_KEY && describeHashKey(env.HASH_KEY), HASH_FALLBACK: env.HASH_FALLBACK };
    for (const [name, value] of Object.entries(given)) {
      if (value !== undefined) report(`${name}=${show(value)} is only used with ALGORITHM=consistent_hash; remove it or set ALGORITHM=consistent_hash`);
    }
  }
  const cookieName = env.STICKY_COOKIE;
  if (cookieName === undefined) {
    const given = {
      STICKY_COOKIE_MAX_AGE: env.STICKY_COOKIE_MAX_AGE,
      STICKY_COOKIE_SAMESITE: env.STICKY_COOKIE_SAMESITE,
      STICKY_COOKIE_SECURE: env.STICKY_COOKIE_SECURE,
    };
    for (const [name, value] of Object.entries(given)) {
      if (value !== undefined) {
        report(`${name}=${show(String(value))} has no effect without STICKY_COOKIE; set STICKY_COOKIE=<cookie name> to turn sticky sessions on`);
      }
    }
  }
  const sameSite = env.STICKY_COOKIE_SAMESITE ?? 'Lax';
  const secure = env.STICKY_COOKIE_SECURE ?? 'auto';
  if (secure === false && sameSite === 'None') {
    report('STICKY_COOKIE_SAMESITE=None needs a Secure cookie (browsers drop it otherwise); set STICKY_COOKIE_SECURE=true or auto, or use Lax');
  }
  if (secure === false && cookieName !== undefined && /^__(secure|host)-/i.test(cookieName)) {
    report(
      `STICKY_COOKIE=${show(cookieName)} has a __Secure- or __Host- prefix, which needs a Secure cookie; set STICKY_COOKIE_SECURE=true or auto, or rename it`,
    );
  }
  return {
    hashKey: env.HASH_KEY ?? { kind: 'ip' },
    hashFallback: env.HASH_FALLBACK ?? 'round_robin',
    sticky: cookieName === undefined ? undefined : { cookieName, maxAgeSeconds: env.STICKY_COOKIE_MAX_AGE, sameSite, secure },
  };
}

// ---- end of selection settings ----

// ---- Performance settings (issue 12).

const PERFORMANCE_SETTINGS = {
  // Each buffered response is held while it is sent to its client, so the bound is deliberately modest.
  RESPONSE_BUFFER_BYTES: wholeNumber('RESPONSE_BUFFER_BYTES', DEFAULT_RESPONSE_BUFFER_BYTES, 0, 16 * 1024 * 1024, 'bytes (0 turns response buffering off)'),
};

// ---- End of performance settings.

const envSchema = z
  .object(
    {
      ALGORITHM: oneOf('ALGORITHM', ALGORITHM_NAMES, 'round_robin'),
      BACKEND_SERVERS: backendServers,
      HOST: host,
      PORT: port('PORT', 8080),
      HEALTH_CHECK_PATH: healthCheckPath,
      HEALTH_CHECK_INTERVAL_MS: milliseconds(
        'HEALTH_CHECK_INTERVAL_MS',
        5000,
        'it is the time between health-check rounds, not a limit, and 0 would probe without pause',
      ),
      HEALTH_CHECK_TIMEOUT_MS: milliseconds(
        'HEALTH_CHECK_TIMEOUT_MS',
        2000,
        'rounds never overlap, so one probe without a time limit that never ends would stop health checks for every server',
      ),
      UPSTREAM_TIMEOUT_MS: milliseconds('UPSTREAM_TIMEOUT_MS', 10_000),
      LOG_LEVEL: oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
      LOG_FORMAT: oneOf('LOG_FORMAT', LOG_FORMATS, 'json'),
      TRUST_PROXY: flag('TRUST_PROXY', false),
      PRESERVE_HOST: flag('PRESERVE_HOST', false),
      MAX_REQUEST_BODY_BYTES: byteLimit('MAX_REQUEST_BODY_BYTES'),
      WORKERS: workers,
      ...selectionFields,
      // Connection limits and response rewriting (issue 8): kept together so other blocks merge cleanly.
      CLIENT_HEADER_TIMEOUT_MS: milliseconds('CLIENT_HEADER_TIMEOUT_MS', 60_000),
      CLIENT_KEEPALIVE_TIMEOUT_MS: milliseconds('CLIENT_KEEPALIVE_TIMEOUT_MS', 75_000),
      CLIENT_BODY_TIMEOUT_MS: milliseconds('CLIENT_BODY_TIMEOUT_MS', 60_000),
      UPSTREAM_READ_TIMEOUT_MS: milliseconds('UPSTREAM_READ_TIMEOUT_MS', 300_000),
      VIA: onOff('VIA', true),
      REWRITE_LOCATION: flag('REWRITE_LOCATION', true),
      ACCESS_LOG: oneOf('ACCESS_LOG', ACCESS_LOG_MODES, 'json'),
      ADMIN_TOKEN: adminToken,
      ADMIN_PORT: adminPort,
      ADMIN_HOST: adminHost,
      ...resilienceFields,
      ...PROTOCOL_SETTINGS,
      ...PERFORMANCE_SETTINGS,
    },
    { error: 'the environment must be an object of string values' },
  )
  // `when`: check the pair even when another variable failed, so that every problem is reported at once.
  .superRefine(checkObservabilitySettings, { when: () => true })
  .superRefine(checkProtocolSettings, { when: () => true })
  .transform(
    (env, ctx): Config => ({
      ...selectionSettings(env, (message) => ctx.addIssue(message)),
      algorithm: env.ALGORITHM,
      servers: env.BACKEND_SERVERS,
      host: env.HOST,
      port: env.PORT,
      healthCheckPath: env.HEALTH_CHECK_PATH,
      healthCheckIntervalMs: env.HEALTH_CHECK_INTERVAL_MS,
      healthCheckTimeoutMs: env.HEALTH_CHECK_TIMEOUT_MS,
      upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
      logLevel: env.LOG_LEVEL,
      logFormat: env.LOG_FORMAT,
      trustProxy: env.TRUST_PROXY,
      preserveHost: env.PRESERVE_HOST,
      maxRequestBodyBytes: env.MAX_REQUEST_BODY_BYTES,
      workers: env.WORKERS,
      clientHeaderTimeoutMs: env.CLIENT_HEADER_TIMEOUT_MS,
      clientKeepAliveTimeoutMs: env.CLIENT_KEEPALIVE_TIMEOUT_MS,
      clientBodyTimeoutMs: env.CLIENT_BODY_TIMEOUT_MS,
      upstreamReadTimeoutMs: env.UPSTREAM_READ_TIMEOUT_MS,
      via: env.VIA,
      rewriteLocation: env.REWRITE_LOCATION,
      accessLog: env.ACCESS_LOG,
      adminToken: env.ADMIN_TOKEN,
      adminPort: env.ADMIN_PORT,
      adminHost: env.ADMIN_HOST,
      resilience: resilienceConfig(env),
      ...protocolConfig(env),
      responseBufferBytes: env.RESPONSE_BUFFER_BYTES,
    }),
  );

/** Validates every variable and reports all problems at once, so one restart can fix them all. */
export function parseConfig(env: Env): ParseConfigResult {
  // jitless: the environment is parsed once, so zod's generated fast path (new Function per object schema) would never pay
  // for itself; on Bun it kept 1.4 MiB resident (bench/repro/bun-rss.mjs). Results and messages are the same either way.
  const result = envSchema.safeParse(env, { jitless: true });
  if (result.success) return { ok: true, config: result.data };
  return { ok: false, errors: result.error.issues.map((issue) => issue.message) };
}

/** A short block for stderr: one line per problem, never a stack trace. */
export function formatConfigErrors(errors: string[]): string {
  return ['Fairway cannot start: invalid configuration', ...errors.map((error) => `  - ${error}`)].join('\n');
}
