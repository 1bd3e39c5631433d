// Ageing of a reconciliation's unresolved exceptions (issue 15): how many, and for how much, have been open 0-30,
// 31-60, 61-90 and over 90 days since first seen, per category and currency. Resolved exceptions are not aged.
// Pure: `asOf` comes from the caller; totals are exact, per currency (never added across currencies).
import { Dec, parseDecimal } from '../money';
import { ageInDays, type FilterableException } from './filter';

export const AGEING_BUCKETS = ['0-30', '31-60', '61-90', 'over_90'] as const;
export type AgeingBucket = (typeof AGEING_BUCKETS)[number];

export function ageingBucket(days: number): AgeingBucket {
  return days <= 30 ? '0-30' : days <= 60 ? '31-60' : days <= 90 ? '61-90' : 'over_90';
}

export interface AgeingRow {
  category: string;
  currency: string | null;
  buckets: Record<AgeingBucket, { count: number; total: string }>;
  count: number;
  total: string;
}

const places = (s: string) => (s.includes('.') ? s.length - s.indexOf('.') - 1 : 0);

/** One row per category and currency (sorted), each with its buckets' counts and signed totals. */
export function ageingReport(items: Iterable<FilterableException>, asOf: string): AgeingRow[] {
  type Acc = { count: number; total: Dec; scale: number };
  const rows = new Map<string, { category: string; currency: string | null; b: Record<AgeingBucket, Acc> }>();
  for (const x of items) {
    // A decided suggestion is settled: its records are matched, or aged in the exceptions they returned to.
    if (x.state === 'resolved' || x.state === 'confirmed' || x.state === 'rejected') continue;
    const k = `${x.category}\u0000${x.currency ?? ''}`;
    let r = rows.get(k);
    if (!r) {
      const empty = () => ({ count: 0, total: new Dec(0), scale: 0 });
      r = {
        category: x.category,
        currency: x.currency,
        b: { '0-30': empty(), '31-60': empty(), '61-90': empty(), over_90: empty() },
      };
      rows.set(k, r);
    }
    const acc = r.b[ageingBucket(ageInDays(x.firstSeen, asOf))];
    acc.count++;
    acc.total = acc.total.plus(parseDecimal(x.amount, `${x.itemId} amount`));
    acc.scale = Math.max(acc.scale, places(x.amount));
  }
  return [...rows.values()]
    .sort((a, b) =>
      a.category !== b.category ? (a.category < b.category ? -1 : 1) : (a.currency ?? '') < (b.currency ?? '') ? -1 : 1,
    )
    .map((r) => {
      const scale = Math.max(...AGEING_BUCKETS.map((k) => r.b[k].scale));
      const total = AGEING_BUCKETS.reduce((s, k) => s.plus(r.b[k].total), new Dec(0));
      return {
        category: r.category,
        currency: r.currency,
        buckets: Object.fromEntries(
          AGEING_BUCKETS.map((k) => [k, { count: r.b[k].count, total: r.b[k].total.toFixed(scale) }]),
        ) as AgeingRow['buckets'],
        count: AGEING_BUCKETS.reduce((n, k) => n + r.b[k].count, 0),
        total: total.toFixed(scale),
      };
    });
}
