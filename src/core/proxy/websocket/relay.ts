/**
 * The message relay between a client's WebSocket and the server's, for runtimes that terminate WebSocket on
 * each side (Deno, Bun): messages pass both ways, closes are relayed with codes each API may send, and the
 * limits (buffered bytes, message size, idle time) are enforced. The runtime only translates its events
 * into calls here and supplies two `RelaySocket`s.
 */
import { CLOSE, type CloseCodeRange, closeReason, relayedClose } from './close-codes.ts';

export type RelayMessage = string | ArrayBuffer | ArrayBufferView | Blob;

/** What a socket's `send` did: written or buffered (`sent`), buffered past the runtime's threshold (`backpressure`, Bun's −1), or not sent at all (`dropped`, Bun's 0). */
export type SendOutcome = 'sent' | 'backpressure' | 'dropped';

/** One side of the relay, as the runtime's socket offers it. */
export interface RelaySocket {
  send(message: RelayMessage): SendOutcome;
  /** Bytes accepted by `send` and not yet written to the network. */
  bufferedAmount(): number;
  /** Starts the closing handshake; without a code, the close frame carries none. */
  close(code?: number, reason?: string): void;
  /** Drops the connection at once, for a peer that never completes the closing handshake. */
  terminate?(): void;
  /** The close codes this socket's `close` accepts. */
  readonly closeCodes: CloseCodeRange;
}

export type Side = 'client' | 'server';

export interface RelayLimits {
  /** Past this many bytes waiting to be written toward one side, the tunnel closes with 1008 (a relay cannot pause reading). */
  readonly maxBufferedBytes: number;
  /** A larger message closes the tunnel with 1009 toward its sender (RFC 6455 §7.4.1); undefined: no limit here. */
  readonly maxMessageBytes: number | undefined;
  /** A tunnel with no message either way for this long closes with 1001; 0 means no limit. */
  readonly idleTimeoutMs: number;
}

/** Why a tunnel ended. `closed`: one side closed it; the others are the relay's own decisions. */
export type RelayEndCause = 'closed' | 'buffer_limit' | 'message_too_big' | 'message_dropped' | 'idle' | 'shutdown';

export interface RelayEnd {
  readonly cause: RelayEndCause;
  /** Who closed first: a side, or the relay itself. */
  readonly initiator: Side | 'proxy';
  /** The close code that side reported, or the one the relay sent. */
  readonly code: number | undefined;
  readonly messages: { readonly fromClient: number; readonly fromServer: number };
  readonly bytes: { readonly fromClient: number; readonly fromServer: number };
}

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface RelayOptions {
  readonly client: RelaySocket;
  readonly server: RelaySocket;
  readonly limits: RelayLimits;
  /** Called once, when both sides have closed or the close grace has run out. */
  readonly onEnd: (end: RelayEnd) => void;
  /** False while the client's socket is not open yet (Deno and Bun open it after the 101): its messages wait. */
  readonly clientOpen?: boolean;
  /** How long a side may take to complete the closing handshake before it is terminated. */
  readonly closeGraceMs?: number;
  readonly clock?: Clock;
}

const DEFAULT_CLOSE_GRACE_MS = 5_000;
const other = (side: Side): Side => (side === 'client' ? 'server' : 'client');

/**
 * The byte size of a message, for the limits. A string's UTF-8 length lies between its UTF-16 length and
 * three times that, so it is encoded only when the limit falls in between.
 */
export function messageBytes(message: RelayMessage, limit = Number.POSITIVE_INFINITY): number {
  if (typeof message !== 'string') return message instanceof Blob ? message.size : message.byteLength;
  if (message.length > limit || message.length * 3 <= limit) return message.length;
  return new TextEncoder().encode(message).length;
}

export class WebSocketRelay {
  readonly #sockets: Record<Side, RelaySocket>;
  readonly #limits: RelayLimits;
  readonly #onEnd: (end: RelayEnd) => void;
  readonly #closeGraceMs: number;
  readonly #clock: Clock;
  readonly #open: Record<Side, boolean>;
  readonly #closed: Record<Side, boolean> = { client: false, server: false };
  /** Messages for the client before its socket opens, and their bytes (counted against maxBufferedBytes). */
  readonly #pending: RelayMessage[] = [];
  #pendingBytes = 0;
  readonly #messages = { fromClient: 0, fromServer: 0 };
  readonly #bytes = { fromClient: 0, fromServer: 0 };
  #first: { cause: RelayEndCause; initiator: Side | 'proxy'; code: number | undefined } | undefined;
  #ended = false;
  #lastActivity: number;
  #idleTimer: unknown;
  #graceTimer: unknown;

  constructor(options: RelayOptions) {
    this.#sockets = { client: options.client, server: options.server };
    this.#limits = options.limits;
    this.#onEnd = options.onEnd;
    this.#closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    this.#clock = options.clock ?? systemClock;
    this.#open = { client: options.clientOpen ?? true, server: true };
    this.#lastActivity = this.#clock.now();
    if (this.#limits.idleTimeoutMs > 0) this.#armIdleTimer(this.#limits.idleTimeoutMs);
  }

  /** True until the first close, from either side or the relay. */
  get open(): boolean {
    return this.#first === undefined;
  }

  /** The client's socket has opened: messages that waited for it go out now. */
  clientOpened(): void {
    if (this.#open.client) return;
    this.#open.client = true;
    const pending = this.#pending.splice(0);
    this.#pendingBytes = 0;
    for (const message of pending) {
      if (!this.#deliver('client', message)) return;
    }
  }

  /** A message arrived from `from`; it goes to the other side unchanged (text stays text, binary stays binary). */
  message(from: Side, message: RelayMessage): void {
    if (!this.open) return;
    const max = this.#limits.maxMessageBytes;
    const size = messageBytes(message, max);
    this.#lastActivity = this.#clock.now();
    if (from === 'client') {
      this.#messages.fromClient++;
      this.#bytes.fromClient += size;
    } else {
      this.#messages.fromServer++;
      this.#bytes.fromServer += size;
    }
    if (max !== undefined && size > max) {
      // The sender hears why (RFC 6455 §7.4.1); the other side only that the tunnel is going away.
      const codes = from === 'client' ? { client: CLOSE.messageTooBig, server: CLOSE.goingAway } : { client: CLOSE.goingAway, server: CLOSE.messageTooBig };
      this.#closeBoth('message_too_big', codes, `message of ${size} bytes exceeds the limit of ${max}`);
      return;
    }
    const to = other(from);
    if (to === 'client' && !this.#open.client) {
      this.#pending.push(message);
      this.#pendingBytes += size;
      this.#checkBuffered(this.#pendingBytes);
      return;
    }
    this.#deliver(to, message);
  }

  /** `side`'s socket has closed, with the code and reason it reported (1005 for none, 1006 or 0 when it dropped). */
  closed(side: Side, code: number, reason: string): void {
    if (this.#closed[side]) return;
    this.#closed[side] = true;
    if (this.#first === undefined) {
      this.#first = { cause: 'closed', initiator: side, code };
      const to = other(side);
      const relayed = relayedClose(code, reason, to, this.#sockets[to].closeCodes);
      this.#close(to, relayed.code, relayed.reason);
      this.#startGrace();
    }
    if (this.#closed.client && this.#closed.server) this.#end();
  }

  /** Graceful shutdown: both sides get 1001 (RFC 6455 §7.4.1, "going away"). */
  shutdown(): void {
    this.#closeBoth('shutdown', { client: CLOSE.goingAway, server: CLOSE.goingAway }, 'proxy shutting down');
  }

  /** Sends to `to`; false when that ended the tunnel. */
  #deliver(to: Side, message: RelayMessage): boolean {
    const outcome = this.#sockets[to].send(message);
    if (outcome === 'dropped') {
      // The runtime refused the message outright (Bun's send returning 0): the stream of messages is broken.
      this.#closeBoth('message_dropped', { client: CLOSE.internalError, server: CLOSE.internalError }, `a message to the ${to} was dropped`);
      return false;
    }
    return this.#checkBuffered(this.#sockets[to].bufferedAmount());
  }

  /** False (and the tunnel closed with 1008) when more than maxBufferedBytes wait toward one side. */
  #checkBuffered(buffered: number): boolean {
    if (buffered <= this.#limits.maxBufferedBytes) return true;
    this.#closeBoth(
      'buffer_limit',
      { client: CLOSE.policyViolation, server: CLOSE.policyViolation },
      `more than ${this.#limits.maxBufferedBytes} bytes waiting for a slow reader`,
    );
    return false;
  }

  #closeBoth(cause: RelayEndCause, codes: Record<Side, number>, reason: string): void {
    if (this.#first !== undefined) return;
    this.#first = { cause, initiator: 'proxy', code: codes.client };
    for (const side of ['client', 'server'] as const) {
      const relayed = relayedClose(codes[side], reason, side, this.#sockets[side].closeCodes);
      this.#close(side, relayed.code, relayed.reason);
    }
    this.#startGrace();
  }

  #close(side: Side, code: number | undefined, reason: string): void {
    if (this.#closed[side]) return;
    this.#pending.length = 0;
    try {
      if (code === undefined) this.#sockets[side].close();
      else this.#sockets[side].close(code, closeReason(reason));
    } catch {
      // A socket already closing may refuse a second close; its close event still ends the relay.
    }
  }

  #startGrace(): void {
    this.#clearIdleTimer();
    if (this.#graceTimer !== undefined || this.#ended) return;
    this.#graceTimer = this.#clock.setTimeout(() => {
      this.#graceTimer = undefined;
      for (const side of ['client', 'server'] as const) {
        if (!this.#closed[side]) this.#sockets[side].terminate?.();
      }
      this.#end();
    }, this.#closeGraceMs);
  }

  #armIdleTimer(ms: number): void {
    this.#idleTimer = this.#clock.setTimeout(() => {
      this.#idleTimer = undefined;
      if (!this.open) return;
      // One timer per tunnel, re-armed for what is left, rather than a reset on every message.
      const idle = this.#clock.now() - this.#lastActivity;
      if (idle < this.#limits.idleTimeoutMs) {
        this.#armIdleTimer(this.#limits.idleTimeoutMs - idle);
        return;
      }
      this.#closeBoth('idle', { client: CLOSE.goingAway, server: CLOSE.goingAway }, `no message for ${this.#limits.idleTimeoutMs} ms`);
    }, ms);
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer === undefined) return;
    this.#clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#clearIdleTimer();
    if (this.#graceTimer !== undefined) this.#clock.clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    const first = this.#first ?? { cause: 'closed' as const, initiator: 'proxy' as const, code: undefined };
    this.#onEnd({ ...first, messages: { ...this.#messages }, bytes: { ...this.#bytes } });
  }
}
