/** Types for test-counts.mjs (plain JavaScript, so scripts run on any Node). */
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}
export function parseNode(text: string): Counts | undefined;
export function parseDeno(text: string): Counts | undefined;
export function parseBun(text: string): Counts | undefined;
