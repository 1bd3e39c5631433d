// Ageing from grouped counts (issue 15): the same buckets as ageing.ts, but fed with how many unresolved exceptions
// of a category and currency were first seen on each date and their signed total, as a database GROUP BY gives
// them; a run's ageing then never holds its exceptions in memory, only one line per first-seen date.
import { Dec, parseDecimal } from '../money';
import { AGEING_BUCKETS, type AgeingBucket, type AgeingRow, ageingBucket } from './ageing';
import { ageInDays } from './filter';

export interface AgeingGroup {
  category: string;
  currency: string | null;
  /** YYYY-MM-DD. */
  firstSeen: string;
  count: number;
  /** Signed total of the group's amounts, exact decimal. */
  total: string;
}

const places = (s: string) => (s.includes('.') ? s.length - s.indexOf('.') - 1 : 0);

/** One row per category and currency (sorted), each bucket's count and total on `asOf`. Groups given are unresolved. */
export function ageingOfGroups(groups: Iterable<AgeingGroup>, asOf: string): AgeingRow[] {
  type Acc = { count: number; total: Dec };
  const rows = new Map<
    string,
    { category: string; currency: string | null; scale: number; b: Record<AgeingBucket, Acc> }
  >();
  for (const g of groups) {
    if (!Number.isSafeInteger(g.count) || g.count < 0)
      throw new RangeError(
        `ageing group ${g.category}/${g.currency ?? '-'}/${g.firstSeen}: count ${g.count} is not a count`,
      );
    const k = `${g.category}\u0000${g.currency ?? ''}`;
    let r = rows.get(k);
    if (!r) {
      const empty = () => ({ count: 0, total: new Dec(0) });
      r = {
        category: g.category,
        currency: g.currency,
        scale: 0,
        b: { '0-30': empty(), '31-60': empty(), '61-90': empty(), over_90: empty() },
      };
      rows.set(k, r);
    }
    const acc = r.b[ageingBucket(ageInDays(g.firstSeen, asOf))];
    acc.count += g.count;
    acc.total = acc.total.plus(parseDecimal(g.total, `ageing group ${g.category} total`));
    r.scale = Math.max(r.scale, places(g.total));
  }
  const key = (r: { category: string; currency: string | null }) => `${r.category}\u0000${r.currency ?? ''}`;
  return [...rows.values()]
    .sort((a, b) => (key(a) < key(b) ? -1 : 1))
    .map((r) => ({
      category: r.category,
      currency: r.currency,
      buckets: Object.fromEntries(
        AGEING_BUCKETS.map((k) => [k, { count: r.b[k].count, total: r.b[k].total.toFixed(r.scale) }]),
      ) as AgeingRow['buckets'],
      count: AGEING_BUCKETS.reduce((n, k) => n + r.b[k].count, 0),
      total: AGEING_BUCKETS.reduce((s, k) => s.plus(r.b[k].total), new Dec(0)).toFixed(r.scale),
    }));
}
