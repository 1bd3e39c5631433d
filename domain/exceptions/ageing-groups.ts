// Ageing from grouped counts (issue 15): the same buckets as ageing.ts, but fed with how many unresolved exceptions
// of a category and currency were first seen on each date and their signed total, as a database GROUP BY gives
// them; a run's ageing then never holds its exceptions in memory, only one line per first-seen date. Also several
// reconciliations' ageing added into one (a close's status).
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
const lineKey = (r: { category: string; currency: string | null }) => `${r.category}\u0000${r.currency ?? ''}`;

/** Per category and currency, each bucket's count and total so far, and the widest scale of the amounts added. */
class Lines {
  private readonly lines = new Map<
    string,
    { category: string; currency: string | null; scale: number; b: Record<AgeingBucket, { count: number; total: Dec }> }
  >();

  add(category: string, currency: string | null, bucket: AgeingBucket, count: number, total: string, where: string) {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`${where}: count ${count} is not a count`);
    const k = lineKey({ category, currency });
    let line = this.lines.get(k);
    if (!line) {
      const empty = () => ({ count: 0, total: new Dec(0) });
      line = {
        category,
        currency,
        scale: 0,
        b: { '0-30': empty(), '31-60': empty(), '61-90': empty(), over_90: empty() },
      };
      this.lines.set(k, line);
    }
    line.b[bucket].count += count;
    line.b[bucket].total = line.b[bucket].total.plus(parseDecimal(total, `${where} total`));
    line.scale = Math.max(line.scale, places(total));
  }

  rows(): AgeingRow[] {
    return [...this.lines.values()]
      .sort((a, b) => (lineKey(a) < lineKey(b) ? -1 : 1))
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
}

/** One row per category and currency (sorted), each bucket's count and total on `asOf`. Groups given are unresolved. */
export function ageingOfGroups(groups: Iterable<AgeingGroup>, asOf: string): AgeingRow[] {
  const lines = new Lines();
  for (const g of groups)
    lines.add(
      g.category,
      g.currency,
      ageingBucket(ageInDays(g.firstSeen, asOf)),
      g.count,
      g.total,
      `ageing group ${g.category}/${g.currency ?? '-'}/${g.firstSeen}`,
    );
  return lines.rows();
}

/**
 * Several reconciliations' ageing as one (a close's status): counts and totals added per category, currency and
 * bucket, at the widest scale each line had. A line missing a bucket is refused (RangeError).
 */
export function mergeAgeing(lists: Iterable<readonly AgeingRow[]>): AgeingRow[] {
  const lines = new Lines();
  for (const list of lists)
    for (const r of list)
      for (const b of AGEING_BUCKETS) {
        const where = `ageing line ${r.category}/${r.currency ?? '-'} ${b}`;
        const x = r.buckets?.[b];
        if (!x) throw new RangeError(`${where}: the bucket is missing`);
        lines.add(r.category, r.currency, b, x.count, x.total, where);
      }
  return lines.rows();
}
