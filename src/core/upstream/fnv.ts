/** FNV-1a hashes of strings: 64-bit for stable ids and Maglev permutations, 32-bit (with a finaliser) for request keys. */

// Written by hand: both are a few lines, must run synchronously on every runtime (Web Crypto's digest is async),
// and no npm package is smaller than the code. Strings are hashed as their UTF-8 bytes, so every runtime agrees.
const encoder = new TextEncoder();

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/** FNV-1a 64 of the string's UTF-8 bytes. BigInt is slow, so use it only off the request path (ids, tables). */
export function fnv1a64(text: string): bigint {
  let hash = FNV64_OFFSET;
  for (const byte of encoder.encode(text)) hash = ((hash ^ BigInt(byte)) * FNV64_PRIME) & MASK64;
  return hash;
}

/**
 * FNV-1a 32 over UTF-16 code units, then murmur3's fmix32 finaliser so that keys differing in one character
 * (10.0.0.1, 10.0.0.2) spread over the whole 32-bit range. Code units rather than UTF-8 bytes keep it
 * allocation-free on the request path; the result is still the same on every runtime.
 */
export function hash32(text: string, seed = 0): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return mix32(hash);
}

/** murmur3 fmix32: a bijection on 32-bit integers with full avalanche. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
