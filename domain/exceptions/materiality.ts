// Which unexplained exceptions are material: the rule both the evidence package (a control is not held while any
// remain) and the approval's certification (no approval while any remain) apply, so they cannot disagree.
// Pure: amounts are decimal strings, compared exactly.
import { Dec, parseDecimal } from '../money';

export interface MaterialityItem {
  /** Names the item in the detail (e.g. `gl-vs-erp:ERP:4`). */
  id: string;
  /** The exception's signed difference (or its amount when one side is missing). */
  amount: string;
  /** Whether someone explained or resolved it (an open or reopened exception is unexplained). */
  explained: boolean;
  /** Totals are kept per currency: adding amounts of two currencies would be a wrong total. */
  currency?: string | null;
}

export interface MaterialityResult {
  materiality: string;
  /** Unexplained items whose absolute amount is above materiality. */
  count: number;
  /**
   * Sum of their absolute amounts per currency (`null`: no currency given), at the widest scale of the amounts
   * summed, ordered by currency.
   */
  totals: { currency: string | null; total: string }[];
  /** Up to `show` of their ids, in input order. */
  ids: string[];
  /** Unexplained items at or below materiality (they do not block, but are counted so nobody thinks they vanished). */
  belowCount: number;
}

const places = (s: string) => {
  const t = s.trim();
  return t.includes('.') ? t.length - t.indexOf('.') - 1 : 0;
};

/**
 * Counts the unexplained items above `materiality` (strictly above: an amount equal to the threshold is within it,
 * as for the approval policy's materiality_threshold). A materiality of 0 makes every unexplained non-zero item
 * material; a negative materiality is refused.
 */
export function unexplainedAboveMateriality(
  items: Iterable<MaterialityItem>,
  materiality: string,
  opts: { show?: number; where?: string } = {},
): MaterialityResult {
  const where = opts.where ?? 'materiality';
  const limit = parseDecimal(materiality, where);
  if (limit.isNegative()) throw new RangeError(`${where}: a materiality is an amount of 0 or more, not ${materiality}`);
  const show = opts.show ?? 20;
  const sums = new Map<string, { total: Dec; scale: number }>();
  let count = 0;
  let belowCount = 0;
  const ids: string[] = [];
  for (const item of items) {
    if (item.explained) continue;
    const abs = parseDecimal(item.amount, `${item.id} amount`).abs();
    if (!abs.gt(limit)) {
      belowCount++;
      continue;
    }
    count++;
    const k = item.currency ?? '';
    const s = sums.get(k) ?? { total: new Dec(0), scale: 0 };
    sums.set(k, { total: s.total.plus(abs), scale: Math.max(s.scale, places(item.amount)) });
    if (ids.length < show) ids.push(item.id);
  }
  const totals = [...sums.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([c, s]) => ({ currency: c || null, total: s.total.toFixed(s.scale) }));
  return { materiality: limit.toFixed(), count, totals, ids, belowCount };
}

export function totalsText(totals: MaterialityResult['totals']): string {
  return totals.map((t) => (t.currency ? `${t.currency} ${t.total}` : t.total)).join(' + ') || '0';
}

/** One sentence for a refusal or a control's detail: how many, their total, which ones. */
export function describeMaterial(r: MaterialityResult): string {
  if (!r.count)
    return (
      `no unexplained exception above materiality ${r.materiality}` +
      (r.belowCount ? ` (${r.belowCount} unexplained at or below it)` : '')
    );
  const more = r.count > r.ids.length ? ` and ${r.count - r.ids.length} more` : '';
  return (
    `${r.count} unexplained exception(s) above materiality ${r.materiality}, totalling ${totalsText(r.totals)} ` +
    `(${r.ids.join(', ')}${more})`
  );
}
