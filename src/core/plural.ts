/** Counts in log messages read as sentences: "1 server", "2 servers". */

/** `n` and the noun, plural unless `n` is 1 (regular English plurals only, which is all the messages need). */
export function countOf(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}
