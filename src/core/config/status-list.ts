/** Status lists such as `200-399` or `502,503,504`, as HEALTH_CHECK_EXPECT and RETRY_ON_STATUS take them. */

/** An inclusive range of HTTP status codes; a single code is a range of one. */
export interface StatusRange {
  readonly from: number;
  readonly to: number;
}

export type StatusList = readonly StatusRange[];

export const matchesStatus = (list: StatusList, status: number): boolean => list.some((r) => status >= r.from && status <= r.to);

/** The statuses RFC 9110 §15 defines room for: three digits, 100 to 599. */
const STATUS = /^[1-5]\d\d$/;

/** Parses `200`, `200-399` and comma-separated mixes of them; returns what is wrong with the first bad item otherwise. */
export function parseStatusList(text: string): { ok: true; list: StatusList } | { ok: false; problem: string } {
  const list: StatusRange[] = [];
  for (const rawItem of text.split(',')) {
    const item = rawItem.trim();
    const [fromText = '', toText, ...rest] = item.split('-').map((part) => part.trim());
    const to = toText ?? fromText;
    if (rest.length > 0 || !STATUS.test(fromText) || !STATUS.test(to)) {
      return { ok: false, problem: item === '' ? 'an item is empty' : `${JSON.stringify(item)} is not a status from 100 to 599 or a range such as 200-399` };
    }
    if (Number(fromText) > Number(to)) return { ok: false, problem: `the range ${JSON.stringify(item)} ends before it starts` };
    list.push({ from: Number(fromText), to: Number(to) });
  }
  return { ok: true, list };
}

/** `200-399`, `502,503,504`: the form a user wrote, for logs and /lb/stats. */
export const formatStatusList = (list: StatusList): string => list.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
