/** The one small interface every load-balancing algorithm implements, and what it may read about servers and requests. */

/** What an algorithm may read about a server. It never sees health: the pool tells it which servers may be picked. */
export interface Candidate {
  /** Slot number, unique in this process (configured order, then servers added later). Algorithms index arrays by it. */
  readonly id: number;
  /** Origin (`http://host:port`). Only consistent hashing reads it: its mapping depends on origins and weights alone. */
  readonly url: string;
  /** Positive integer weight. */
  readonly weight: number;
  /** Requests selected for this server whose exchange has not ended yet. */
  readonly inFlight: number;
}

/** Per-request inputs to selection. Built by the lifecycle before it picks. */
export interface SelectionContext {
  /** The request's hash key (see hash-key.ts), already extracted; undefined when the request has none. */
  readonly hashKey?: string | undefined;
}

export const NO_CONTEXT: SelectionContext = Object.freeze({});

/** A uniform number in [0, 1). Injected so tests and the study can seed it. */
export type RandomSource = () => number;

/** Milliseconds on a monotonic clock (performance.now by default). Injected so tests can move time. */
export type Clock = () => number;

/**
 * Pingora's shape: an algorithm is built from the pool's servers and keeps whatever structure makes a pick
 * cheap (heap, schedule, table). The pool tells it, incrementally, which servers may be picked; the lifecycle
 * tells it about load. It never checks health itself.
 */
export interface SelectionAlgorithm<T extends Candidate = Candidate> {
  readonly name: AlgorithmName;
  /** The whole configured set (available or not) after a server was added or removed or a weight changed. */
  configured?(servers: readonly T[]): void;
  /** `server` may be picked from now on. Called at most once until the matching `unavailable`. */
  available(server: T): void;
  /** `server` must not be picked any more (unhealthy, ejected, removed, or about to change weight). */
  unavailable(server: T): void;
  /** `server.inFlight` changed. */
  loadChanged?(server: T): void;
  /** `server` sent response headers `ms` after the request was sent. */
  responded?(server: T, ms: number): void;
  /** One of the available servers, or undefined when none is. */
  pick(context: SelectionContext): T | undefined;
}

/**
 * The weight an algorithm uses for a server: a positive integer, whose ratios to the others' are what count. By
 * default the configured weight; the pool hands in a ramped one while slow start runs (ServerPool.selectionWeight).
 * An algorithm that keeps weights in a structure reads it when a server becomes available, so the weight changes
 * for it by leaving and returning, as with a configured weight change.
 */
export type WeightOf = (server: Candidate) => number;

export const configuredWeight: WeightOf = (server) => server.weight;

export interface AlgorithmOptions {
  readonly random?: RandomSource;
  readonly now?: Clock;
  readonly weightOf?: WeightOf;
}

export const ALGORITHM_NAMES = [
  'round_robin',
  'weighted_round_robin',
  'least_connections',
  'least_response_time',
  'power_of_two',
  'peak_ewma',
  'consistent_hash',
  'random',
] as const;

export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];

/** What HASH_FALLBACK may name: any algorithm that needs no hash key. */
export const FALLBACK_ALGORITHM_NAMES = ALGORITHM_NAMES.filter((name) => name !== 'consistent_hash') as readonly Exclude<AlgorithmName, 'consistent_hash'>[];
export type FallbackAlgorithmName = Exclude<AlgorithmName, 'consistent_hash'>;
