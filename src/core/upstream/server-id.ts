/** The stable short id of a server: the same in every worker, every replica and across restarts. */
import { fnv1a64 } from './fnv.ts';

/**
 * 16 hex digits of FNV-1a 64 of the server's origin (`http://10.0.0.1:5001`). It depends on nothing but the
 * origin, so a sticky cookie set by one worker is honoured by all, and the admin API can name servers by it.
 * FNV-1a rather than SHA-256: Web Crypto's digest is async and ids are needed synchronously at construction;
 * the id is opaque, not secret (a forged id can only name a server already in the pool), and 64 bits make
 * a collision among a pool's origins negligible.
 */
export function serverIdOf(origin: string): string {
  return fnv1a64(origin).toString(16).padStart(16, '0');
}
