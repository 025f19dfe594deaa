/** Typed access to parse-prometheus-text-format (a real parser of the text exposition format; the package ships no types). */
// @ts-ignore: the package has no type declarations; its shape is declared below.
import parseUntyped from 'parse-prometheus-text-format';

export interface ParsedSample {
  readonly value?: string;
  readonly labels?: Record<string, string>;
  readonly buckets?: Record<string, string>;
  readonly count?: string;
  readonly sum?: string;
}

export interface ParsedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  readonly metrics: readonly ParsedSample[];
}

export const parsePrometheusText = parseUntyped as (text: string) => ParsedFamily[];

/**
 * One histogram series, parsed. parse-prometheus-text-format merges every labelled series of a histogram
 * into one and reads _sum and _count only when unlabelled (its flattenMetrics), so the text is first cut
 * down to the lines of the one series whose samples contain `labelText` (e.g. `server="http://a:1"`), and
 * that label is removed from them.
 */
export function parseHistogram(text: string, name: string, labelText: string): ParsedSample | undefined {
  const lines = text.split('\n').filter((l) =>
    l.startsWith(`# HELP ${name} `) || l.startsWith(`# TYPE ${name} `) || (l.startsWith(name) && l.includes(labelText))
  );
  const unlabelled = lines.map((l) => l.replace(`{${labelText}}`, '').replace(`${labelText},`, '').replace(`,${labelText}`, ''));
  return parsePrometheusText(`${unlabelled.join('\n')}\n`).find((f) => f.name === name)?.metrics[0];
}
