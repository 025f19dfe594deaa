/**
 * Joins several expositions into one: each metric family's HELP and TYPE once, then every source's samples
 * of it. Each worker's series already carry its `worker` label, so nothing is summed and Prometheus' sum() stays right.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const order: string[] = [];
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const text of texts) {
    let current: { head: string[]; samples: string[] } | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('# HELP ')) {
        const name = line.slice(7, line.indexOf(' ', 7));
        current = families.get(name);
        if (current === undefined) {
          current = { head: [line], samples: [] };
          families.set(name, current);
          order.push(name);
        }
      } else if (line.startsWith('# TYPE ')) {
        if (current !== undefined && current.head.length === 1) current.head.push(line);
      } else if (current !== undefined) {
        current.samples.push(line);
      }
    }
  }
  const out: string[] = [];
  for (const name of order) {
    const family = families.get(name)!;
    out.push(...family.head, ...family.samples);
  }
  return `${out.join('\n')}\n`;
}
