// The sum_by_reference rule: a bank line carrying a deposit slip (or batch) number against the GL receipts whose text
// carries the same number, matched when they add up exactly. The reference is found in the text upstream (a
// regex_extract into a field both sides share, named by match_on); amounts alone cannot tell one slip's receipts from
// another's in a busy window (see match-sum-window.ts), a slip number can.
//
// Per key and currency, the free records the rule may take (where_a / where_b) are grouped by their match_on values;
// a record with one of them missing or empty belongs to no group (null is never equal to null). A value held by
// exactly one record of the one side is matched with every record of the other side holding it, when their sums are
// equal and (with count_field) their number is the count the one record gives. Nothing else is matched: a value held
// twice on the one side, a sum that differs (a receipt missing, one keyed wrong) or a count that disagrees stays for
// categorisation, which pairs the records by the reference and names it (amount_mismatch, categorise-reference.ts).
import type { MatchRule } from './definition';
import { FREE, addGroup, sumOf, type MatchState } from './match-state';
import type { NormalisedRecord } from './normalise';
import { ruleMask } from './match-where';

type SumByReferenceRule = Extract<MatchRule, { type: 'sum_by_reference' }>;

/** A record's count_field value is not a whole number of items (bad input names the record and the field). */
export class ItemCountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ItemCountError';
  }
}

/**
 * The number of items record r says it totals (its `field`), or undefined when the field is missing or empty. A value
 * that is not a whole number from 1 up is refused, naming the record, the field and the rule.
 */
export function itemCount(r: NormalisedRecord, field: string, ruleId: string): number | undefined {
  const raw = r.fields[field]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1)
    throw new ItemCountError(
      `rule ${ruleId}: record ${r.id} (line ${r.line}) field ${field} holds ${JSON.stringify(raw)}, not a number of items`,
    );
  return Number(raw);
}

export function runSumByReference(s: MatchState, r: number, rule: SumByReferenceRule): void {
  const oneIsA = rule.one_side === 'a';
  const [one, many] = oneIsA ? [s.a, s.b] : [s.b, s.a];
  const [oneGroup, manyGroup] = oneIsA ? [s.groupOfA, s.groupOfB] : [s.groupOfB, s.groupOfA];
  const [oneAmount, manyAmount] = oneIsA ? [s.amountA, s.amountB] : [s.amountB, s.amountA];
  const { aStart, aIdx, bStart, bIdx } = s.buckets;
  const [oneStart, oneIdx, manyStart, manyIdx] = oneIsA ? [aStart, aIdx, bStart, bIdx] : [bStart, bIdx, aStart, aIdx];
  const oneMask = ruleMask(s, r, oneIsA ? 'a' : 'b');
  const manyMask = ruleMask(s, r, oneIsA ? 'b' : 'a');
  const valueOf = (rec: NormalisedRecord): string | undefined => {
    let v = '';
    for (const f of rule.match_on) {
      const x = rec.fields[f];
      if (x === undefined || x.trim() === '') return undefined;
      v += `${x}\u001f`;
    }
    return v;
  };
  const take = (mask: Uint8Array | undefined, group: Int32Array, x: number) =>
    group[x] === FREE && (mask === undefined || mask[x] === 1);

  for (let k = 0; k < s.buckets.count; k++) {
    if (s.leftA[k] === 0 || s.leftB[k] === 0) continue;
    const ones = new Map<string, number[]>();
    for (let p = oneStart[k]; p < oneStart[k + 1]; p++) {
      const x = oneIdx[p];
      const v = take(oneMask, oneGroup, x) ? valueOf(one[x]) : undefined;
      if (v !== undefined) ones.set(v, [...(ones.get(v) ?? []), x]);
    }
    const groups = new Map<string, number[]>();
    for (let p = manyStart[k]; p < manyStart[k + 1]; p++) {
      const y = manyIdx[p];
      const v = take(manyMask, manyGroup, y) ? valueOf(many[y]) : undefined;
      if (v === undefined || !ones.has(v)) continue;
      const list = groups.get(v);
      if (list === undefined) groups.set(v, [y]);
      else list.push(y);
    }
    // In the one side's order.
    for (const [v, xs] of ones) {
      const ys = groups.get(v);
      if (ys === undefined || xs.length !== 1 || ys.length > rule.max_items) continue;
      const x = xs[0];
      if (rule.count_field !== undefined) {
        const n = itemCount(one[x], rule.count_field, rule.id);
        if (n !== undefined && n !== ys.length) continue;
      }
      if (sumOf(manyAmount, ys) !== oneAmount[x]) continue;
      ys.sort((p, q) => p - q);
      const [as, bs] = oneIsA ? [[x], ys] : [ys, [x]];
      addGroup(s, r, as, bs, sumOf(s.amountA, as), sumOf(s.amountB, bs));
    }
  }
}
