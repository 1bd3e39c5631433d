// The subset-sum rule: within a group (the key, or another field), records on one side whose amounts add up
// exactly to records on the other. Bounded by the rule's group size and combination budget.
import type { MatchRule } from './definition';
import { FREE, addGroup, collect, suggest, sumOf, type GiveUpReason, type MatchState } from './match-state';
import type { NormalisedRecord } from './normalise';
import { ruleMask } from './match-where';

// ---- subset sum -------------------------------------------------------------------------------------------------

/** Advances idx (a k-combination of 0..n-1 in lexicographic order); false when it was the last one. */
function nextCombination(idx: Int32Array, k: number, n: number): boolean {
  let p = k - 1;
  while (p >= 0 && idx[p] === n - k + p) p--;
  if (p < 0) return false;
  idx[p]++;
  for (let q = p + 1; q < k; q++) idx[q] = idx[q - 1] + 1;
  return true;
}

interface SubsetSearch {
  budget: number;
  tried: number;
}

/** A pair of subsets with equal sums, and a different pair with the same sum when there is one (ambiguity). */
interface Found {
  xs: number[];
  ys: number[];
  alternative?: [number[], number[]];
}

/** The first subset of xs with a sum, and a second one when two different subsets share it. */
interface SumEntry {
  first: number[];
  second?: number[];
}

/**
 * One search pass: the sums of all subsets of `xs` (sizes 1..maxX) go into maps, then subsets of `ys` (sizes
 * minY..maxY, smallest first) are looked up. A single record against a single record is never a subset match (that
 * is the exact rule's business, and would hide timing differences). Returns the first pair of subsets found as
 * record indices, null when there is none, or 'budget' when the search ran out of combinations.
 *
 * A found pair is checked for a rival with the same sum (another subset of xs, or another subset of ys, which means
 * searching the rest of ys too): when one exists the data cannot tell which records belong together, and the pair
 * comes back with its `alternative` to be proposed, not matched. Running out of budget while checking is 'budget':
 * a pair not shown to be the only one is never matched.
 */
function findEqualSubsets(
  xs: number[],
  xAmounts: Float64Array,
  maxX: number,
  ys: number[],
  yAmounts: Float64Array,
  minY: number,
  maxY: number,
  search: SubsetSearch,
): Found | null | 'budget' {
  const singles = new Map<number, SumEntry>();
  const multiples = new Map<number, SumEntry>();
  const idx = new Int32Array(Math.max(maxX, maxY));
  for (let k = 1; k <= Math.min(maxX, xs.length); k++) {
    const sums = k === 1 ? singles : multiples;
    for (let q = 0; q < k; q++) idx[q] = q;
    do {
      if (++search.tried > search.budget) return 'budget';
      let sum = 0;
      for (let q = 0; q < k; q++) sum += xAmounts[xs[idx[q]]];
      const entry = sums.get(sum);
      if (entry === undefined) sums.set(sum, { first: Array.from(idx.subarray(0, k), (p) => xs[p]) });
      else if (entry.second === undefined) entry.second = Array.from(idx.subarray(0, k), (p) => xs[p]);
    } while (nextCombination(idx, k, xs.length));
  }
  let found: Found | undefined;
  let target = 0;
  for (let k = minY; k <= Math.min(maxY, ys.length); k++) {
    for (let q = 0; q < k; q++) idx[q] = q;
    do {
      if (++search.tried > search.budget) return 'budget';
      let sum = 0;
      for (let q = 0; q < k; q++) sum += yAmounts[ys[idx[q]]];
      if (found !== undefined && sum !== target) continue;
      const single = k > 1 ? singles.get(sum) : undefined;
      const multiple = multiples.get(sum);
      const hit = single ?? multiple;
      if (hit === undefined) continue;
      const ysHere = Array.from(idx.subarray(0, k), (p) => ys[p]);
      if (found !== undefined) {
        found.alternative = [hit.first, ysHere];
        return found;
      }
      found = { xs: hit.first, ys: ysHere };
      target = sum;
      const rivalX = hit.second ?? (single !== undefined && multiple !== undefined ? multiple.first : undefined);
      if (rivalX !== undefined) {
        found.alternative = [rivalX, ysHere];
        return found;
      }
    } while (nextCombination(idx, k, ys.length));
  }
  return found ?? null;
}

function subsetGroup(
  s: MatchState,
  r: number,
  rule: Extract<MatchRule, { type: 'subset_sum' }>,
  label: string,
  currency: string,
  groupA: number[],
  groupB: number[],
): void {
  const giveUp = (reason: GiveUpReason, combinations: number): void => {
    s.giveUps.push({
      rule: r,
      group: label,
      currency,
      reason,
      a: groupA.filter((i) => s.groupOfA[i] === FREE),
      b: groupB.filter((j) => s.groupOfB[j] === FREE),
      combinations,
    });
  };
  if (groupA.length > rule.max_group_size || groupB.length > rule.max_group_size) return giveUp('group_too_large', 0);
  // Subset sums are plain numbers: refuse groups whose total magnitude could leave the safe range.
  let magnitude = 0;
  for (const i of groupA) magnitude += Math.abs(s.amountA[i]);
  for (const j of groupB) magnitude += Math.abs(s.amountB[j]);
  if (!Number.isSafeInteger(magnitude)) return giveUp('amount_too_large', 0);

  const search: SubsetSearch = { budget: rule.max_combinations, tried: 0 };
  const max = rule.max_items;
  // one_to_many: one a against 2..max b, then one b against 2..max a.
  const passes: [number, number, number, boolean][] =
    rule.cardinality === 'one_to_many'
      ? [
          [1, 2, max, false],
          [1, 2, max, true],
        ]
      : [[max, 1, max, false]];
  for (const [maxX, minY, maxY, flipped] of passes) {
    for (;;) {
      const freeA = groupA.filter((i) => s.groupOfA[i] === FREE);
      const freeB = groupB.filter((j) => s.groupOfB[j] === FREE);
      if (freeA.length === 0 || freeB.length === 0) return;
      const found = flipped
        ? findEqualSubsets(freeB, s.amountB, maxX, freeA, s.amountA, minY, maxY, search)
        : findEqualSubsets(freeA, s.amountA, maxX, freeB, s.amountB, minY, maxY, search);
      if (found === 'budget') return giveUp('budget_exhausted', search.tried - 1);
      if (found === null) break;
      const side = (x: number[], y: number[]): [number[], number[]] => (flipped ? [y, x] : [x, y]);
      const [as, bs] = side(found.xs, found.ys);
      if (found.alternative !== undefined) {
        const [altA, altB] = side(...found.alternative);
        const union = (p: number[], q: number[]) => [...new Set([...p, ...q])].sort((x, y) => x - y);
        suggest(s, r, union(as, altA), union(bs, altB), [
          [as, bs],
          [altA, altB],
        ]);
        continue;
      }
      const sum = sumOf(s.amountA, as);
      addGroup(s, r, as, bs, sum, sum);
    }
  }
}

export function runSubsetSum(s: MatchState, r: number, rule: Extract<MatchRule, { type: 'subset_sum' }>): void {
  const maskA = ruleMask(s, r, 'a');
  const maskB = ruleMask(s, r, 'b');
  if (rule.group_by === 'key') {
    const ua: number[] = [];
    const ub: number[] = [];
    for (let k = 0; k < s.buckets.count; k++) {
      // A subset match needs a record on each side and two on one of them.
      if (s.leftA[k] === 0 || s.leftB[k] === 0 || s.leftA[k] + s.leftB[k] < 3) continue;
      collect(s, k, ua, ub, maskA, maskB);
      subsetGroup(s, r, rule, s.buckets.key[k], s.buckets.currency[k], ua.slice(), ub.slice());
    }
    return;
  }
  // Grouping by another field (a payment reference): the groups span keys, within this partition and currency.
  const field = rule.group_by.field;
  const groups = new Map<string, { currency: string; value: string; a: number[]; b: number[] }>();
  const place = (records: readonly NormalisedRecord[], groupOf: Int32Array, side: 'a' | 'b') => {
    const mask = side === 'a' ? maskA : maskB;
    for (let i = 0; i < records.length; i++) {
      if (groupOf[i] !== FREE || (mask !== undefined && mask[i] === 0)) continue;
      const value = records[i].fields[field];
      if (value === undefined || value === '') continue;
      const id = `${records[i].currency}\u001f${value}`;
      let g = groups.get(id);
      if (g === undefined) {
        g = { currency: records[i].currency, value, a: [], b: [] };
        groups.set(id, g);
      }
      g[side].push(i);
    }
  };
  place(s.a, s.groupOfA, 'a');
  place(s.b, s.groupOfB, 'b');
  for (const g of groups.values())
    if (g.a.length > 0 && g.b.length > 0 && g.a.length + g.b.length > 2)
      subsetGroup(s, r, rule, `${field}=${g.value}`, g.currency, g.a, g.b);
}
