// Control totals: per side, records and amounts in must equal matched + unmatched, in count and (per currency) in
// amount. The three figures are computed independently - "in" from the input records, "matched" from the matches,
// "unmatched" from the open exceptions - so a record lost, duplicated or counted in both places fails loudly.
// A second check ties the exceptions to the money: per currency, total a - total b must equal the sum of the
// exception differences (a matched group without a difference contributes nothing).
//
// Summaries are JSON-safe (decimal strings, counts as numbers) so a workflow can carry them and merge partitions.
import { Dec, parseDecimal } from '../money';
import { CATEGORIES, type Category } from './categorise';
import { MinorSum, formatMinor } from './minor';
import type { NormalisedRecord } from './normalise';

export interface CurrencyAmounts {
  currency: string;
  amount_in: string;
  amount_matched: string;
  amount_unmatched: string;
}

export interface SideTotals {
  records_in: number;
  records_matched: number;
  records_unmatched: number;
  /** Sorted by currency. */
  amounts: CurrencyAmounts[];
}

export interface CurrencyDifference {
  currency: string;
  /** Total amount in on side a minus side b. */
  a_minus_b: string;
  /** Sum of the differences of all exceptions (open and accepted). */
  exceptions_total: string;
}

export interface ReconSummary {
  reconciliation: string;
  /** How many partition summaries were merged into this one. */
  partitions: number;
  a: SideTotals;
  b: SideTotals;
  matches: number;
  matches_by_rule: Record<string, number>;
  /**
   * Suggestions (open `suggested_match` exceptions) per rule that proposed them: matched (auto) is matches_by_rule,
   * suggested (pending) this. Absent in summaries written before suggestions existed.
   */
  suggested_by_rule?: Record<string, number>;
  exceptions: number;
  open_exceptions: number;
  exceptions_by_category: Record<Category, number>;
  /** Subset-sum groups abandoned (their records are open exceptions). */
  gave_up: number;
  differences: CurrencyDifference[];
}

/**
 * records / amount: in - matched - unmatched on one side; difference: (total a - total b) minus the recorded
 * a_minus_b; exceptions: (total a - total b) minus the sum of exception differences.
 */
export type ControlMeasure = 'records' | 'amount' | 'difference' | 'exceptions';

export class ControlTotalsError extends Error {
  constructor(
    readonly side: 'a' | 'b' | 'a-b',
    readonly measure: ControlMeasure,
    readonly difference: string,
    readonly currency?: string,
    readonly reconciliation?: string,
  ) {
    const what =
      measure === 'difference'
        ? `total a - total b minus the recorded difference = ${difference}`
        : measure === 'exceptions'
          ? `total a - total b minus the sum of exception differences = ${difference}`
          : `${measure} in - matched - unmatched = ${difference}`;
    super(
      `control totals do not balance${reconciliation ? ` in ${reconciliation}` : ''} on side ${side}` +
        `${currency ? ` (${currency})` : ''}: ${what}`,
    );
    this.name = 'ControlTotalsError';
  }
}

/** Totals of one side from record indices: every record of `records` once in, matched and unmatched as listed. */
export function sideTotals(
  records: readonly NormalisedRecord[],
  matched: Iterable<number>,
  unmatched: Iterable<number>,
  scaleOf: (currency: string) => number,
): SideTotals {
  const sums = new Map<string, [MinorSum, MinorSum, MinorSum]>();
  const acc = (currency: string) => {
    let s = sums.get(currency);
    if (s === undefined) {
      s = [new MinorSum(), new MinorSum(), new MinorSum()];
      sums.set(currency, s);
    }
    return s;
  };
  for (const r of records) acc(r.currency)[0].add(r.amountMinor);
  let nMatched = 0;
  for (const i of matched) {
    acc(records[i].currency)[1].add(records[i].amountMinor);
    nMatched++;
  }
  let nUnmatched = 0;
  for (const i of unmatched) {
    acc(records[i].currency)[2].add(records[i].amountMinor);
    nUnmatched++;
  }
  const amounts = byCurrency(sums).map(([currency, [i, m, u]]) => {
    const scale = scaleOf(currency);
    return {
      currency,
      amount_in: formatMinor(i.value(), scale),
      amount_matched: formatMinor(m.value(), scale),
      amount_unmatched: formatMinor(u.value(), scale),
    };
  });
  return { records_in: records.length, records_matched: nMatched, records_unmatched: nUnmatched, amounts };
}

/** Map entries in currency order (the keys are unique, so there is no tie to break). */
function byCurrency<V>(m: Map<string, V>): [string, V][] {
  return [...m.keys()].sort().map((k) => [k, m.get(k) as V]);
}

function dec(s: string): Dec {
  return parseDecimal(s);
}

/** Throws ControlTotalsError unless in = matched + unmatched on both sides and the differences are explained. */
export function assertControlTotals(summary: ReconSummary): void {
  const id = summary.reconciliation;
  const inA = new Map<string, Dec>();
  for (const side of ['a', 'b'] as const) {
    const t = summary[side];
    const records = t.records_in - t.records_matched - t.records_unmatched;
    if (records !== 0) throw new ControlTotalsError(side, 'records', String(records), undefined, id);
    for (const c of t.amounts) {
      const d = dec(c.amount_in).minus(dec(c.amount_matched)).minus(dec(c.amount_unmatched));
      if (!d.isZero()) throw new ControlTotalsError(side, 'amount', d.toFixed(), c.currency, id);
      const signed = side === 'a' ? dec(c.amount_in) : dec(c.amount_in).negated();
      inA.set(c.currency, (inA.get(c.currency) ?? new Dec(0)).plus(signed));
    }
  }
  const listed = new Set(summary.differences.map((d) => d.currency));
  for (const currency of inA.keys())
    if (!listed.has(currency))
      throw new ControlTotalsError('a-b', 'exceptions', inA.get(currency)?.toFixed() as string, currency, id);
  for (const d of summary.differences) {
    const expected = inA.get(d.currency) ?? new Dec(0);
    const recorded = expected.minus(dec(d.a_minus_b));
    if (!recorded.isZero()) throw new ControlTotalsError('a-b', 'difference', recorded.toFixed(), d.currency, id);
    const unexplained = expected.minus(dec(d.exceptions_total));
    if (!unexplained.isZero()) throw new ControlTotalsError('a-b', 'exceptions', unexplained.toFixed(), d.currency, id);
  }
}

function addCounts<K extends string>(x: Record<K, number>, y: Record<K, number>): Record<K, number> {
  const out = { ...x };
  for (const k of Object.keys(y) as K[]) out[k] = safeAdd((out[k] ?? 0) + y[k]);
  return out;
}

function safeAdd(n: number): number {
  if (!Number.isSafeInteger(n)) throw new RangeError(`count ${n} is beyond the safe integer range`);
  return n;
}

/** Decimal places written in a decimal string: a merged total keeps the scale of its parts. */
function places(s: string): number {
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

function mergeAmounts(x: CurrencyAmounts[], y: CurrencyAmounts[]): CurrencyAmounts[] {
  const by = new Map<string, { sums: [Dec, Dec, Dec]; places: number }>();
  for (const c of [...x, ...y]) {
    const prev = by.get(c.currency) ?? { sums: [new Dec(0), new Dec(0), new Dec(0)], places: 0 };
    by.set(c.currency, {
      sums: [
        prev.sums[0].plus(dec(c.amount_in)),
        prev.sums[1].plus(dec(c.amount_matched)),
        prev.sums[2].plus(dec(c.amount_unmatched)),
      ],
      places: Math.max(prev.places, places(c.amount_in), places(c.amount_matched), places(c.amount_unmatched)),
    });
  }
  return byCurrency(by).map(
    ([
      currency,
      {
        sums: [i, m, u],
        places: n,
      },
    ]) => ({
      currency,
      amount_in: i.toFixed(n),
      amount_matched: m.toFixed(n),
      amount_unmatched: u.toFixed(n),
    }),
  );
}

function mergeSide(x: SideTotals, y: SideTotals): SideTotals {
  return {
    records_in: safeAdd(x.records_in + y.records_in),
    records_matched: safeAdd(x.records_matched + y.records_matched),
    records_unmatched: safeAdd(x.records_unmatched + y.records_unmatched),
    amounts: mergeAmounts(x.amounts, y.amounts),
  };
}

/** An empty summary: the identity of mergeSummaries. */
export function emptySummary(reconciliation: string): ReconSummary {
  const side = (): SideTotals => ({ records_in: 0, records_matched: 0, records_unmatched: 0, amounts: [] });
  return {
    reconciliation,
    partitions: 0,
    a: side(),
    b: side(),
    matches: 0,
    matches_by_rule: {},
    exceptions: 0,
    open_exceptions: 0,
    exceptions_by_category: Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>,
    gave_up: 0,
    differences: [],
  };
}

/**
 * Merges per-partition summaries of one reconciliation (amounts with exact decimals), checking each input and
 * the result. Throws ControlTotalsError if any does not balance, RangeError if they belong to different
 * reconciliations.
 */
export function mergeSummaries(summaries: readonly ReconSummary[]): ReconSummary {
  if (summaries.length === 0) throw new RangeError('no summaries to merge');
  const id = summaries[0].reconciliation;
  let out = emptySummary(id);
  for (const s of summaries) {
    if (s.reconciliation !== id)
      throw new RangeError(`cannot merge summaries of ${id} and ${s.reconciliation}: different reconciliations`);
    assertControlTotals(s);
    const diffs = new Map<string, [Dec, Dec, number]>();
    for (const d of [...out.differences, ...s.differences]) {
      const prev = diffs.get(d.currency) ?? [new Dec(0), new Dec(0), 0];
      diffs.set(d.currency, [
        prev[0].plus(dec(d.a_minus_b)),
        prev[1].plus(dec(d.exceptions_total)),
        Math.max(prev[2], places(d.a_minus_b), places(d.exceptions_total)),
      ]);
    }
    out = {
      reconciliation: id,
      partitions: safeAdd(out.partitions + s.partitions),
      a: mergeSide(out.a, s.a),
      b: mergeSide(out.b, s.b),
      matches: safeAdd(out.matches + s.matches),
      matches_by_rule: addCounts(out.matches_by_rule, s.matches_by_rule),
      ...(out.suggested_by_rule !== undefined || s.suggested_by_rule !== undefined
        ? { suggested_by_rule: addCounts(out.suggested_by_rule ?? {}, s.suggested_by_rule ?? {}) }
        : {}),
      exceptions: safeAdd(out.exceptions + s.exceptions),
      open_exceptions: safeAdd(out.open_exceptions + s.open_exceptions),
      exceptions_by_category: addCounts(out.exceptions_by_category, s.exceptions_by_category),
      gave_up: safeAdd(out.gave_up + s.gave_up),
      differences: byCurrency(diffs).map(([currency, [ab, ex, n]]) => ({
        currency,
        a_minus_b: ab.toFixed(n),
        exceptions_total: ex.toFixed(n),
      })),
    };
  }
  assertControlTotals(out);
  return out;
}
