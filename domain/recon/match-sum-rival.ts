// A one-to-one rule (exact, tolerance, date window) pairs one record with one of the same (or a near) amount. A later
// sum_window rule of the same definition may explain the same single record otherwise: as the sum of several records
// on the other side dated around it (a deposit slip whose total happens to equal one receipt of another slip). When
// both explanations hold up, the data cannot decide which is right, and a wrong match is the worst error a
// reconciliation can make: the pair is taken back and proposed (suggested_match) with both as candidates - the one
// record, and each subset that adds up to it.
//
// A subset counts as an explanation only where chance would not produce it. In a dense pool (a hundred receipts in
// the window) almost any amount is the sum of some 2..8 of them: such a sum is coincidence, no evidence against the
// pair, and checking every pair against it would propose every payment. The expected number of subsets reaching the
// amount by chance is estimated from the candidates' amounts (see chanceSubsets); only
// where that is below CHANCE_LIMIT is the pool searched (with the sum rule's own bounds), and a subset found there is
// a rival. The review runs when the sum rule starts, over the pairs of the rules before it, so the pool is the one the
// sum rule searches: records no one-to-one rule paired. Pairs tied by a reference (rules with match_on) are decided
// by the reference and never reviewed.
import type { MatchRule } from './definition';
import { FREE, addGroup, pair, suggest, type MatchState } from './match-state';
import type { Minor } from './minor';
import { itemCount } from './match-sum-reference';
import { findSubsets } from './match-sum-window';
import { ruleMask } from './match-where';

type SumWindowRule = Extract<MatchRule, { type: 'sum_window' }>;

/**
 * Below this many expected chance subsets (one search in a thousand finding one by chance), a subset adding up to the
 * amount is evidence. A deposit slip is one bank line in many: with a looser limit the review proposed payments whose
 * amount a few receipts happened to reach, and held those receipts from their own slips (bench:bank at 10,000 lines
 * and 1%: 3 payments proposed, 7 slips fewer found; at 0.1%: none).
 */
const CHANCE_LIMIT = 0.001;

/**
 * The expected number of subsets of min..max of these amounts (all > 0, minor units) adding up to exactly `target` by
 * chance: per size k, C(n, k) times the density of a sum of k such amounts at target. The density is the larger of two
 * estimates: amounts spread evenly over (0, target] (1 / ((k-1)! * target), Irwin-Hall at its first knot), and the
 * normal curve with k times the amounts' own mean and variance (amounts bunched well below the target, such as
 * cheques against a large payment, reach it far more often than an even spread would). Amounts all equal reach only
 * k times their value, each subset of that size.
 */
export function chanceSubsets(values: readonly number[], target: number, min: number, max: number): number {
  const n = values.length;
  let mean = 0;
  for (const v of values) mean += v / n;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2 / n;
  let expected = 0;
  let choose = 1;
  let factorial = 1;
  for (let k = 1; k <= Math.min(max, n); k++) {
    choose = (choose * (n - k + 1)) / k;
    if (k > 1) factorial *= k - 1;
    if (k < min) continue;
    const even = 1 / (factorial * target);
    const d = target - k * mean;
    const normal =
      variance === 0
        ? Number(Math.abs(d) < 0.5)
        : Math.exp(-(d * d) / (2 * k * variance)) / Math.sqrt(2 * Math.PI * k * variance);
    expected += choose * Math.max(even, normal);
  }
  return expected;
}

interface Pool {
  /** Free records of the many side in the bucket, by date. */
  records: number[];
  days: Int32Array;
}

/** The subsets (record indices of the many side) that explain record x of the one side under rule, or undefined. */
function rivalSubsets(s: MatchState, rule: SumWindowRule, x: number, pool: Pool): number[][] | undefined {
  const oneIsA = rule.one_side === 'a';
  const target = (oneIsA ? s.amountA : s.amountB)[x];
  const day = (oneIsA ? s.dayA : s.dayB)[x];
  const manyAmount = oneIsA ? s.amountB : s.amountA;
  // (Every record has a date here: a sum_window rule needs a date field on both sides, and normalising requires it.)
  if (target === 0) return undefined;
  let [min, max] = [rule.min_items, rule.max_items];
  if (rule.count_field !== undefined) {
    const n = itemCount((oneIsA ? s.a : s.b)[x], rule.count_field, rule.id);
    // A record that gives its item count is a sum of exactly that many records, or (outside the rule's sizes) none.
    if (n !== undefined && (n < min || n > max)) return undefined;
    if (n !== undefined) [min, max] = [n, n];
  }
  const sign = target < 0 ? -1 : 1;
  const lowerBound = (d: number): number => {
    let lo = 0;
    let hi = pool.days.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pool.days[mid] < d) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const candidates: number[] = [];
  const to = lowerBound(day + rule.days_after + 1);
  for (let p = lowerBound(day - rule.days_before); p < to; p++) {
    const y = pool.records[p];
    const v = manyAmount[y] * sign;
    if (v > 0 && v <= target * sign) candidates.push(y);
  }
  // Too few to add up; too many for the sum rule to search (it gives such a record up); or so many that chance
  // reaches the amount: no rival.
  if (candidates.length < min || candidates.length > rule.max_candidates) return undefined;
  candidates.sort((y1, y2) => manyAmount[y2] * sign - manyAmount[y1] * sign || y1 - y2);
  const values = candidates.map((y) => manyAmount[y] * sign);
  if (chanceSubsets(values, target * sign, min, max) >= CHANCE_LIMIT) return undefined;
  const found = findSubsets(
    values,
    target * sign,
    min,
    max,
    { budget: rule.max_combinations, tried: 0 },
  );
  // A search that ran out of budget showed no subset: the pair stands.
  if (found === 'budget' || found.length === 0) return undefined;
  return found.map((positions) => positions.map((p) => candidates[p]));
}

function buildPool(s: MatchState, oneIsA: boolean, k: number, mask: Uint8Array | undefined): Pool {
  const { aStart, aIdx, bStart, bIdx } = s.buckets;
  const [start, idx, group, day] = oneIsA ? [bStart, bIdx, s.groupOfB, s.dayB] : [aStart, aIdx, s.groupOfA, s.dayA];
  const records: number[] = [];
  for (let p = start[k]; p < start[k + 1]; p++) {
    const y = idx[p];
    if (group[y] === FREE && (mask === undefined || mask[y] === 1)) records.push(y);
  }
  records.sort((y1, y2) => day[y1] - day[y2] || y1 - y2);
  return { records, days: Int32Array.from(records, (y) => day[y]) };
}

const ONE_TO_ONE: readonly MatchRule['type'][] = ['exact', 'tolerance', 'date_window'];

/**
 * Before a sum_window rule (rule r) searches, reviews the one-to-one matches the rules before it made (exact,
 * tolerance, date window; not those tied by a reference): a pair whose record on this rule's one side is also the sum
 * of free records of the other side (the pool the rule is about to search) is taken back and proposed, naming the
 * rule that paired it, with both explanations as candidates. Only records the sum rule may take (its where_a /
 * where_b) are reviewed and pooled: a pair whose record the rule would never search is no sum.
 */
export function reviewAgainstSums(s: MatchState, r: number, rule: SumWindowRule): void {
  const g = s.groups;
  const oneIsA = rule.one_side === 'a';
  const oneMask = ruleMask(s, r, oneIsA ? 'a' : 'b');
  const manyMask = ruleMask(s, r, oneIsA ? 'b' : 'a');
  const pools = new Map<number, Pool>();
  const rivals = new Map<number, number[][]>();
  for (let m = 0; m < g.rule.length; m++) {
    const earlier = s.definition.rules[g.rule[m]];
    // (Every match so far was made by a rule before r.)
    if (!ONE_TO_ONE.includes(earlier.type) || ('match_on' in earlier && earlier.match_on)) continue;
    const i = g.itemsA[g.aStart[m]];
    const x = oneIsA ? i : g.itemsB[g.bStart[m]];
    if (oneMask !== undefined && oneMask[x] === 0) continue;
    const k = s.bucketOfA[i];
    let pool = pools.get(k);
    if (pool === undefined) {
      pool = buildPool(s, oneIsA, k, manyMask);
      pools.set(k, pool);
    }
    const subsets = rivalSubsets(s, rule, x, pool);
    if (subsets !== undefined) rivals.set(m, subsets);
  }
  if (rivals.size === 0) return;

  // Take every match back, then make again those without a rival (in their order, so the rest keep theirs).
  const made: [number, number, number][] = [];
  for (let m = 0; m < g.rule.length; m++) made.push([g.rule[m], g.itemsA[g.aStart[m]], g.itemsB[g.bStart[m]]]);
  const kept = dropAllMatches(s);
  made.forEach(([rm, i, j], m) => {
    if (rivals.has(m)) return;
    if (kept[m] === undefined) pair(s, rm, i, j);
    else addGroup(s, rm, ...kept[m]);
  });
  const manyGroup = oneIsA ? s.groupOfB : s.groupOfA;
  for (const [m, subsets] of rivals) {
    const [rm, i, j] = made[m];
    // A subset whose records an earlier proposal of this review already holds is that proposal's to decide; when
    // none is left, nothing speaks against the pair any more.
    const open = subsets.filter((subset) => subset.every((y) => manyGroup[y] === FREE));
    if (open.length === 0) {
      pair(s, rm, i, j);
      continue;
    }
    const many = [...new Set([oneIsA ? j : i, ...open.flat()])].sort((p, q) => p - q);
    const candidates: [number[], number[]][] = [[[i], [j]], ...open.map((subset) => side(oneIsA, i, j, subset))];
    if (oneIsA) suggest(s, rm, [i], many, candidates);
    else suggest(s, rm, many, [j], candidates);
  }
}

/**
 * Empties the matches, every record of them free again. Returns, per match that was not one record per side, its
 * records and sums (to be added again as they were).
 */
function dropAllMatches(s: MatchState): ([number[], number[], Minor, Minor] | undefined)[] {
  const g = s.groups;
  const out: ([number[], number[], Minor, Minor] | undefined)[] = [];
  for (let m = 0; m < g.rule.length; m++) {
    const as = g.itemsA.slice(g.aStart[m], g.aStart[m + 1]);
    const bs = g.itemsB.slice(g.bStart[m], g.bStart[m + 1]);
    out.push(as.length === 1 && bs.length === 1 ? undefined : [as, bs, g.sumA[m], g.sumB[m]]);
    for (const i of as) {
      s.groupOfA[i] = FREE;
      s.leftA[s.bucketOfA[i]]++;
    }
    for (const j of bs) {
      s.groupOfB[j] = FREE;
      s.leftB[s.bucketOfB[j]]++;
    }
  }
  g.rule.length = 0;
  g.itemsA.length = 0;
  g.itemsB.length = 0;
  g.aStart.length = 1;
  g.bStart.length = 1;
  g.sumA.length = 0;
  g.sumB.length = 0;
  return out;
}

/** A sum candidate as [a records, b records]: the one record of the sum rule's one side against the subset. */
function side(oneIsA: boolean, i: number, j: number, subset: number[]): [number[], number[]] {
  const sorted = subset.slice().sort((p, q) => p - q);
  return oneIsA ? [[i], sorted] : [sorted, [j]];
}
