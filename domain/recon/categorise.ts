// Every record that is unmatched, or matched with a difference, lands in exactly one exception with one category and
// the evidence for it. Nothing is dropped: a record no rule and no category explains is still an open exception.
//
// Precedence, when several categories could describe the same records:
//   Matched with a non-zero difference (tolerance rules, aggregated/subset rules with a limit; the exception is
//   accepted, `open: false`):
//     1. rounding          |difference| <= the rounding tolerance
//     2. within_tolerance  anything larger the rule accepted
//   Proposed (open): suggested_match   a rule found several equally good ways to pair these records and matched none
//                          (see match-ambiguity.ts); evidence lists the candidates, a person decides.
//   Unmatched (open), per key and currency:
//     1. duplicate_key     the key occurs more than once on a side while a rule expects uniqueness. Which record
//                          belongs with which is then a guess, so the whole key is one exception and no pairwise
//                          category is attempted.
//     2. missing_in_a / missing_in_b   nothing left on the other side to pair with.
//   Otherwise leftovers are paired on evidence. First by reference: where a rule has match_on fields, a leftover
//   whose match_on values exactly one leftover on the other side shares pairs with it (amount_mismatch for the short
//   payment, timing_difference, sign_reversal; the evidence names the reference). Then one pass per category, each
//   pass taking records the earlier ones left; a record that would fit two categories gets the earlier one:
//     3. timing_difference  same amount, dates differ by at most categorisation.timing_window_days (same amount
//                           further apart is two separate items, each missing on the other side)
//     4. sign_reversal      a = -b
//     5. transposition      |a - b| divisible by 9 AND the digits of one are the other's with two adjacent digits
//                           swapped (checked on the digits, not inferred from divisibility)
//     6. rounding           |a - b| <= the rounding tolerance (default one minor unit)
//     7. amount_mismatch    only where the key identifies the record: the key holds exactly one record on each
//                           side of the whole input, and neither was matched or paired above. The key is the
//                           evidence that they belong together. A pair with equal amounts and equal (or no) dates
//                           that no rule matched also lands here with difference 0 and `amounts_agree: true`: the
//                           rules, not the data, left it open.
//   A single record whose sum_window search was given up may be the sum of several records on the other side: it takes
//   part in none of the passes 3-6 and stays on its side (evidence `may_be_a_sum`, see categorise-evidence.ts).
//   Records still without a partner are missing_in_a / missing_in_b (`key_on_other_side` counts what the other side
//   holds for the key), or, in a bank reconciliation (categorisation.bank), the reconciling item they are:
//   bank_fee, outstanding_check, outstanding_payment, deposit_in_transit (see categorise-bank.ts). A key holding several records on a side (a bank statement keyed by currency) does not say
//   which belongs with which, so its leftovers are never paired without evidence: an invented pair hides two real
//   items (a bank fee, an uncleared check) behind one made-up difference.
import { bankItemNamer, type BankItemNamer } from './categorise-bank';
import { maybeSums, pairEvidence } from './categorise-evidence';
import type { Category, Evidence } from './categories';
import { pairByReference } from './categorise-reference';
import type { ReconciliationDefinition } from './definition';
import { FREE, groupItems, isDuplicateKey, type MatchState } from './match';
import { absMinor, addMinor, formatMinor, limitToMinor, subMinor, type Minor } from './minor';
import { currencyScale } from './normalise';

export { transposition } from './categorise-evidence';

export { CATEGORIES, type Category, type Evidence } from './categories';

/** An exception over record indices of the partition (reconcile turns it into the JSON-safe ReconException). */
export interface CategorisedException {
  category: Category;
  /** False only for accepted differences of matched records (rounding / within_tolerance on a match). */
  open: boolean;
  /** Index of the rule that matched the records, for accepted differences. */
  rule?: number;
  bucketKey: string;
  currency: string;
  a: number[];
  b: number[];
  sumA: Minor;
  sumB: Minor;
  evidence: Evidence;
}

class Categoriser {
  readonly out: CategorisedException[] = [];
  private readonly rounding = new Map<string, number>();
  private readonly uniqueRules: string[];
  /** The match_on field lists of the rules, each once, in rule order: the references leftovers are paired by first. */
  private readonly references: string[][] = [];
  /** Per match_on list (joined), the side a sum_by_reference rule sums by it: several records there may be one item. */
  private readonly summedSide = new Map<string, 'a' | 'b'>();
  private readonly bankItem: BankItemNamer | undefined;
  private readonly gaveUpA = new Map<number, string>();
  private readonly gaveUpB = new Map<number, string>();
  private readonly maybeSum: [Map<number, string>, Map<number, string>];

  constructor(
    private readonly s: MatchState,
    private readonly def: ReconciliationDefinition,
  ) {
    this.uniqueRules = def.rules.filter((r) => 'expect_unique' in r && r.expect_unique).map((r) => r.id);
    this.bankItem = bankItemNamer(s, def);
    this.maybeSum = maybeSums(s);
    const seen = new Set<string>();
    for (const r of def.rules)
      if ('match_on' in r && r.match_on !== undefined && !seen.has(r.match_on.join('\u001f'))) {
        seen.add(r.match_on.join('\u001f'));
        this.references.push(r.match_on);
      }
    for (const r of def.rules)
      if (r.type === 'sum_by_reference') this.summedSide.set(r.match_on.join('\u001f'), r.one_side === 'a' ? 'b' : 'a');
    for (const g of s.giveUps) {
      const note = `${def.rules[g.rule].id}: ${g.reason} (${g.group})`;
      for (const i of g.a) this.gaveUpA.set(i, note);
      for (const j of g.b) this.gaveUpB.set(j, note);
    }
  }

  scale(currency: string): number {
    return currencyScale(this.def, currency);
  }

  roundingLimit(currency: string): number {
    let v = this.rounding.get(currency);
    if (v === undefined) {
      const t = this.def.categorisation.rounding_tolerance;
      v = t === undefined ? 1 : limitToMinor(t, this.scale(currency));
      this.rounding.set(currency, v);
    }
    return v;
  }

  emit(
    category: Category,
    k: number,
    a: number[],
    b: number[],
    evidence: Evidence,
    extra: { open?: boolean; rule?: number; sumA?: Minor; sumB?: Minor } = {},
  ): void {
    const s = this.s;
    let sumA: Minor = 0;
    let sumB: Minor = 0;
    if (extra.sumA !== undefined) sumA = extra.sumA;
    else for (const i of a) sumA = addMinor(sumA, s.amountA[i]);
    if (extra.sumB !== undefined) sumB = extra.sumB;
    else for (const j of b) sumB = addMinor(sumB, s.amountB[j]);
    const gaveUp = a.map((i) => this.gaveUpA.get(i)).find((n) => n) ?? b.map((j) => this.gaveUpB.get(j)).find((n) => n);
    if (gaveUp !== undefined) evidence.subset_sum_gave_up = gaveUp;
    this.out.push({
      category,
      open: extra.open ?? true,
      rule: extra.rule,
      bucketKey: s.buckets.key[k],
      currency: s.buckets.currency[k],
      a,
      b,
      sumA,
      sumB,
      evidence,
    });
  }

  acceptedDifferences(): void {
    const s = this.s;
    const groups = s.groups;
    for (let g = 0; g < groups.rule.length; g++) {
      const sumA = groups.sumA[g];
      const sumB = groups.sumB[g];
      // Sums are canonical (a number whenever safe), so equal amounts compare equal here.
      if (sumA === sumB) continue;
      const diff = subMinor(sumA, sumB);
      const k = s.bucketOfA[groups.itemsA[groups.aStart[g]]];
      const currency = s.buckets.currency[k];
      const scale = this.scale(currency);
      const rule = this.def.rules[groups.rule[g]];
      const rounding = absMinor(diff) <= this.roundingLimit(currency);
      const evidence: Evidence = { difference: formatMinor(diff, scale), rule: rule.id, rule_type: rule.type };
      if (rounding) evidence.rounding_tolerance = formatMinor(this.roundingLimit(currency), scale);
      this.emit(
        rounding ? 'rounding' : 'within_tolerance',
        k,
        groupItems(groups, g, 'a'),
        groupItems(groups, g, 'b'),
        evidence,
        { open: false, rule: groups.rule[g], sumA, sumB },
      );
    }
  }

  /**
   * One open exception per proposal. Besides the candidates in words, the evidence carries what a person's decision
   * needs without the source records (domain/exceptions/suggestions.ts): `candidate_index`, each listed candidate
   * as positions in the exception's a and b record lists (`0+1=0 | 2=0`), and `amounts_a` / `amounts_b`, each
   * record's amount in list order (comma-separated decimals). The exception names the rule that proposed it.
   */
  suggestions(): void {
    const s = this.s;
    const label = (side: 'a' | 'b', idx: number[]) => idx.map((i) => (side === 'a' ? s.a : s.b)[i].id).join('+');
    for (const x of s.suggestions) {
      const rule = this.def.rules[x.rule];
      const k = x.a.length > 0 ? s.bucketOfA[x.a[0]] : s.bucketOfB[x.b[0]];
      const scale = this.scale(s.buckets.currency[k]);
      const at = (list: number[], idx: number[]) => idx.map((i) => list.indexOf(i)).join('+');
      const evidence: Evidence = {
        rule: rule.id,
        rule_type: rule.type,
        proposed_because:
          rule.auto === false && x.candidateCount === 1 ? 'rule_not_automatic' : 'several_equally_good_candidates',
        candidates: x.candidates.map(([ca, cb]) => `${label('a', ca)}=${label('b', cb)}`).join(' | '),
        candidate_count: x.candidateCount,
        candidate_index: x.candidates.map(([ca, cb]) => `${at(x.a, ca)}=${at(x.b, cb)}`).join(' | '),
        amounts_a: x.a.map((i) => formatMinor(s.amountA[i], scale)).join(','),
        amounts_b: x.b.map((j) => formatMinor(s.amountB[j], scale)).join(','),
      };
      if (x.candidates.length < x.candidateCount) evidence.candidates_listed = x.candidates.length;
      this.emit('suggested_match', k, x.a, x.b, evidence, { rule: x.rule });
    }
  }

  unmatched(): void {
    const s = this.s;
    const { aStart, aIdx, bStart, bIdx } = s.buckets;
    for (let k = 0; k < s.buckets.count; k++) {
      if (s.leftA[k] === 0 && s.leftB[k] === 0) continue;
      const la: number[] = [];
      const lb: number[] = [];
      for (let p = aStart[k]; p < aStart[k + 1]; p++) if (s.groupOfA[aIdx[p]] === FREE) la.push(aIdx[p]);
      for (let p = bStart[k]; p < bStart[k + 1]; p++) if (s.groupOfB[bIdx[p]] === FREE) lb.push(bIdx[p]);
      if (this.uniqueRules.length > 0 && isDuplicateKey(s, k)) {
        this.emit('duplicate_key', k, la, lb, {
          count_a: aStart[k + 1] - aStart[k],
          count_b: bStart[k + 1] - bStart[k],
          rules: this.uniqueRules.join(','),
        });
        continue;
      }
      this.pairLeftovers(k, la, lb);
    }
  }

  private pairLeftovers(k: number, la: number[], lb: number[]): void {
    const s = this.s;
    const { amountA, amountB } = s;
    const currency = s.buckets.currency[k];
    const scale = this.scale(currency);
    const window = this.def.categorisation.timing_window_days;
    const roundingLimit = this.roundingLimit(currency);
    const usedA = new Uint8Array(la.length);
    const usedB = new Uint8Array(lb.length);
    let work = 0;
    let truncated = false;
    const budget = this.def.categorisation.max_pairing_work;
    const emit = (c: Category, a: number[], b: number[], e: Evidence) => this.emit(c, k, a, b, e);
    for (const fields of this.references)
      pairByReference(s, fields, la, lb, usedA, usedB, scale, emit, this.summedSide.get(fields.join('\u001f')));

    const limits = { scale, window, roundingLimit };
    const classify = (pass: number, i: number, j: number) => pairEvidence(s, pass, i, j, limits);
    // Same and opposite amounts are found through an index (no pairing budget spent); the other passes compare
    // every remaining pair, within the budget.
    const bByAmount = new Map<number, number[]>();
    lb.forEach((j, q) => {
      const list = bByAmount.get(amountB[j]);
      if (list === undefined) bByAmount.set(amountB[j], [q]);
      else list.push(q);
    });
    // A record with several candidates in a pass is evidence of nothing: which one is a guess. It is paired with
    // none, takes part in no later pass, and stays missing on its side naming how many candidates it had.
    const blockedA = new Map<number, string>();
    const blockedB = new Map<number, string>();
    const free = (used: Uint8Array, blocked: Map<number, string>, x: number) => !used[x] && !blocked.has(x);
    // A record that may be a sum (categorise-evidence.ts, maybeSums) is paired by no amount.
    la.forEach((i, p) => this.maybeSum[0].has(i) && blockedA.set(p, `may_be_a_sum:${this.maybeSum[0].get(i)}`));
    lb.forEach((j, q) => this.maybeSum[1].has(j) && blockedB.set(q, `may_be_a_sum:${this.maybeSum[1].get(j)}`));
    for (let pass = 0; pass < 4 && lb.length > 0 && !truncated; pass++) {
      const candA = new Map<number, number[]>();
      const candB = new Map<number, number[]>();
      for (let p = 0; p < la.length && !truncated; p++) {
        if (!free(usedA, blockedA, p)) continue;
        const i = la[p];
        const pool = pass < 2 ? (bByAmount.get(pass === 0 ? amountA[i] : -amountA[i]) ?? []) : undefined;
        const n = pool === undefined ? lb.length : pool.length;
        for (let t = 0; t < n; t++) {
          const q = pool === undefined ? t : pool[t];
          if (!free(usedB, blockedB, q)) continue;
          if (pool === undefined && ++work > budget) {
            truncated = true;
            break;
          }
          if (classify(pass, i, lb[q]) === undefined) continue;
          candA.set(p, [...(candA.get(p) ?? []), q]);
          candB.set(q, [...(candB.get(q) ?? []), p]);
        }
      }
      if (truncated) break;
      const category = ['timing_difference', 'sign_reversal', 'transposition', 'rounding'][pass];
      for (const [p, qs] of candA) {
        const q = qs[0];
        if (qs.length === 1 && (candB.get(q) as number[]).length === 1) {
          const found = classify(pass, la[p], lb[q]) as { category: Category; evidence: Evidence };
          usedA[p] = 1;
          usedB[q] = 1;
          this.emit(found.category, k, [la[p]], [lb[q]], found.evidence);
          continue;
        }
        // A record of b with several candidates is in the qs of each of them, none of which pairs (they share it):
        // it is blocked here too, with its count.
        blockedA.set(p, `${category}:${qs.length}`);
        for (const r of qs) blockedB.set(r, `${category}:${(candB.get(r) as number[]).length}`);
      }
    }
    const countA = s.buckets.aStart[k + 1] - s.buckets.aStart[k];
    const countB = s.buckets.bStart[k + 1] - s.buckets.bStart[k];
    // The key alone pairs only a key's single record with its single counterpart; equal amounts left here were
    // rejected by the timing window and are separate items.
    if (countA === 1 && countB === 1 && la.length === 1 && lb.length === 1 && !usedA[0] && !usedB[0]) {
      const i = la[0];
      const j = lb[0];
      if (amountA[i] !== amountB[j]) {
        usedA[0] = 1;
        usedB[0] = 1;
        this.emit('amount_mismatch', k, [i], [j], { difference: formatMinor(subMinor(amountA[i], amountB[j]), scale) });
      }
    }
    const missing = (other: number, blocked: string | undefined): Evidence => {
      const out: Evidence = { key_on_other_side: other };
      if (truncated) out.pairing_search_truncated = true;
      if (blocked !== undefined) {
        const [category, n] = blocked.split(':');
        if (category === 'may_be_a_sum') out.may_be_a_sum = n;
        else Object.assign(out, { ambiguous_category: category, candidates: Number(n) });
      }
      return out;
    };
    const oneSided = (side: 'a' | 'b', i: number, other: number, blocked: string | undefined): void => {
      const item = this.bankItem?.(side, i);
      const a = side === 'a' ? [i] : [];
      const b = side === 'a' ? [] : [i];
      if (item !== undefined) this.emit(item.category, k, a, b, item.evidence);
      else this.emit(side === 'a' ? 'missing_in_b' : 'missing_in_a', k, a, b, missing(other, blocked));
    };
    for (let p = 0; p < la.length; p++) if (!usedA[p]) oneSided('a', la[p], countB, blockedA.get(p));
    for (let q = 0; q < lb.length; q++) if (!usedB[q]) oneSided('b', lb[q], countA, blockedB.get(q));
  }
}

/** Categorises the outcome of matchRecords: accepted differences first, then every unmatched record. */
export function categorise(state: MatchState): CategorisedException[] {
  const c = new Categoriser(state, state.definition);
  c.acceptedDifferences();
  c.suggestions();
  c.unmatched();
  return c.out;
}
