// Leftovers paired by a reference before any amount is looked at (see categorise.ts for the precedence).
import type { Category, Evidence } from './categories';
import { sumOf, type MatchState } from './match-state';
import { formatMinor, subMinor } from './minor';

/**
 * The strongest evidence first: a leftover whose match_on values (a reference found in the text) are held by
 * exactly one leftover on each side belongs with that one, whatever the amounts say. A different amount is the
 * short payment (amount_mismatch), the same amount on another day a timing difference, the opposite amount a sign
 * reversal; the evidence names the reference. Where a sum_by_reference rule sums records of side `several` by these
 * fields, one leftover against several of that side holding its reference (a deposit slip's bank line and its
 * receipts) is one amount_mismatch of them all, with the difference of the sums and the counts. Any other reference
 * held several times on a side decides nothing here.
 * `la`/`lb` are the leftovers of one key, `usedA`/`usedB` mark (by position) those already categorised.
 */
export function pairByReference(
  s: MatchState,
  fields: string[],
  la: number[],
  lb: number[],
  usedA: Uint8Array,
  usedB: Uint8Array,
  scale: number,
  emit: (category: Category, a: number[], b: number[], evidence: Evidence) => void,
  several?: 'a' | 'b',
): void {
  const valueOf = (r: { fields: Record<string, string> }): string | undefined => {
    const parts: string[] = [];
    for (const f of fields) {
      const v = r.fields[f];
      if (v === undefined || v.trim() === '') return undefined;
      parts.push(v);
    }
    return parts.join(' / ');
  };
  const byValue = new Map<string, [number[], number[]]>();
  la.forEach((i, p) => {
    const v = usedA[p] ? undefined : valueOf(s.a[i]);
    if (v === undefined) return;
    const c = byValue.get(v);
    if (c === undefined) byValue.set(v, [[p], []]);
    else c[0].push(p);
  });
  lb.forEach((j, q) => {
    const v = usedB[q] ? undefined : valueOf(s.b[j]);
    if (v !== undefined) byValue.get(v)?.[1].push(q);
  });
  for (const [value, [ps, qs]] of byValue) {
    if (qs.length === 0) continue;
    if (ps.length !== 1 || qs.length !== 1) {
      // One record against several holding its reference on the side a sum_by_reference rule sums (a deposit slip's
      // bank line and its receipts, one of them missing or keyed wrong): they belong together by the reference, and
      // the sums differ (or the rule's item count disagreed). Anything else held several times decides nothing.
      if ((several === 'b' ? ps.length : qs.length) !== 1 || several === undefined) continue;
      const is = ps.map((p) => la[p]);
      const js = qs.map((q) => lb[q]);
      for (const p of ps) usedA[p] = 1;
      for (const q of qs) usedB[q] = 1;
      emit('amount_mismatch', is, js, {
        match_on: fields.join(','),
        reference: value,
        difference: formatMinor(subMinor(sumOf(s.amountA, is), sumOf(s.amountB, js)), scale),
        items_a: is.length,
        items_b: js.length,
      });
      continue;
    }
    const [p, q] = [ps[0], qs[0]];
    const [i, j] = [la[p], lb[q]];
    const x = s.amountA[i];
    const y = s.amountB[j];
    const evidence: Evidence = { match_on: fields.join(','), reference: value };
    let category: Category = 'amount_mismatch';
    if (x === y && s.dayA[i] !== s.dayB[j]) {
      category = 'timing_difference';
      Object.assign(evidence, {
        date_a: s.a[i].date as string,
        date_b: s.b[j].date as string,
        days_apart: s.dayB[j] - s.dayA[i],
      });
    } else if (x === -y && x !== 0) {
      category = 'sign_reversal';
      evidence.sum = formatMinor(0, scale);
    } else evidence.difference = formatMinor(subMinor(x, y), scale);
    usedA[p] = 1;
    usedB[q] = 1;
    emit(category, [i], [j], evidence);
  }
}
