/** The one small interface every load-balancing algorithm implements. */

/** What an algorithm may read about a server. It never sees health: callers pass only eligible servers. */
export interface Candidate {
  /** Stable position of the server in the configured list (0-based). Candidates arrive sorted by id. */
  readonly id: number;
  /** Positive integer weight from BACKEND_SERVERS (default 1). */
  readonly weight: number;
  /** Requests selected for this server whose response has not finished streaming yet. */
  readonly inFlight: number;
  /** Decaying average of time-to-response-headers in ms, or undefined before the first sample. */
  readonly latencyEwmaMs: number | undefined;
}

export interface SelectionAlgorithm {
  readonly name: AlgorithmName;
  /** Picks one of `candidates` (sorted by id), or undefined when the list is empty. */
  pick<T extends Candidate>(candidates: readonly T[]): T | undefined;
}

export const ALGORITHM_NAMES = [
  'round_robin',
  'weighted_round_robin',
  'least_connections',
  'least_response_time',
] as const;

export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];
