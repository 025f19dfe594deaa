/** Types for the part of proxy-steps-common.mjs that TypeScript tests import. */
export declare const ACCESS_LOG_BATCH: { readonly batchBytes: number; readonly flushIntervalMs: number };
export declare function batchedLines(options: {
  readonly batchBytes: number;
  readonly flushIntervalMs: number;
  readonly write?: (lines: Uint8Array) => void;
}): { add(line: string): void; flush(): void };
