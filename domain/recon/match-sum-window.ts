// The sum_window rule: one record on one side (a bank credit) against 2..max_items records on the other (the GL
// receipts of a deposit slip) dated within a window around it, summing exactly. No shared key beyond the bucket's.
//
// Two phases, because a wrong match is the worst outcome:
//   1. For every free single record, search its candidates (same bucket, same sign, not larger, dated in the window)
//      for subsets that add up exactly, stopping at four: a record with more than three (MAX_LISTED_SUBSETS) is never
//      proposed (given up as too_many_subsets), since a list cut short may not hold the right one. With
//      count_field, a record that gives its number of items (camt.053 NtryDtls/Btch/NbOfTxs) is searched for subsets
//      of exactly that size, which both prunes the search and leaves far fewer chance subsets. Candidates are sorted by amount, largest first, and the
//      search prunes a branch when the amount left is larger than what the remaining candidates (or the remaining
//      item slots) can still add: that is what keeps it fast at scale. Each search is bounded (max_candidates,
//      max_combinations); a search that hits a bound is reported as given up and matches nothing.
//   2. A single record with exactly one subset whose records no other single record's subsets use is matched.
//      Everything else - two subsets for one record, or records claimed by the subsets of two single records - is
//      proposed together as one suggestion listing the subsets: the data cannot decide. A tangle of more than three
//      single records (or more records than two slips could hold) is not proposed but given up: in a dense pool of
//      leftovers, amounts that many subsets reach are coincidence, not evidence.
// Records tied by a reference (match_on) to a free record on the other side are left out: the reference is stronger
// evidence than a sum (a short payment, categorised with its reference).
import type { MatchRule } from './definition';
import { FREE, NO_DAY, addGroup, suggest, sumOf, type GiveUpReason, type MatchState } from './match-state';
import { itemCount } from './match-sum-reference';
import { ruleMask } from './match-where';

type SumWindowRule = Extract<MatchRule, { type: 'sum_window' }>;

interface Search {
  budget: number;
  tried: number;
}

/**
 * Up to `limit` subsets (as positions into `values`, sorted descending, all > 0) of min..max items summing to
 * `target`; 'budget' when the search ran out.
 */
export function findSubsets(
  values: readonly number[],
  target: number,
  min: number,
  max: number,
  search: Search,
  limit = 2,
): number[][] | 'budget' {
  const n = values.length;
  const suffix = new Float64Array(n + 1);
  for (let t = n - 1; t >= 0; t--) suffix[t] = suffix[t + 1] + values[t];
  const found: number[][] = [];
  const chosen: number[] = [];
  let outOfBudget = false;
  const walk = (start: number, remaining: number): void => {
    if (remaining === 0) {
      if (chosen.length >= min) found.push(chosen.slice());
      return;
    }
    // Never 0 here: with one slot left the pruning below takes only a value equal to the amount left.
    const slots = max - chosen.length;
    // The items still needed (min) cannot be fewer than what is left, nor add up to more than the amount left even
    // when they are the smallest (an item count from the statement makes min = max: this prunes most branches).
    const need = min - chosen.length;
    if (need > 0 && (n - start < need || suffix[n - need] > remaining)) return;
    for (let t = start; t < n; t++) {
      if (found.length >= limit || outOfBudget) return;
      if (++search.tried > search.budget) {
        outOfBudget = true;
        return;
      }
      const v = values[t];
      if (v > remaining) continue;
      // Sorted descending: if the rest cannot reach the amount left, nor can anything later.
      if (suffix[t] < remaining || v * slots < remaining) return;
      chosen.push(t);
      walk(t + 1, remaining - v);
      chosen.pop();
    }
  };
  walk(0, target);
  if (outOfBudget) return 'budget';
  return found;
}

/** Above this many single records competing for the same records, a cluster is given up rather than proposed. */
const MAX_PROPOSED_SINGLES = 3;

/**
 * A record is proposed with all its subsets listed, and only when they are at most this many: a person can weigh three
 * candidates, and a list cut short might not hold the right one. A record with more is given up (too_many_subsets).
 */
export const MAX_LISTED_SUBSETS = 3;

/**
 * Records of bucket k whose match_on values (a reference) some free record on the other side shares: the reference
 * ties them to that record (a short payment), so an amount sum must not take them. Side b indices are stored as ~j.
 */
function spokenFor(s: MatchState, k: number): Set<number> {
  const out = new Set<number>();
  const { aStart, aIdx, bStart, bIdx } = s.buckets;
  for (const rule of s.definition.rules) {
    const on = 'match_on' in rule ? rule.match_on : undefined;
    if (on === undefined) continue;
    const valueOf = (fields: Record<string, string>): string | undefined => {
      let v = '';
      for (const f of on) {
        const x = fields[f];
        if (x === undefined || x.trim() === '') return undefined;
        v += `${x}\u001f`;
      }
      return v;
    };
    const inA = new Map<string, number[]>();
    for (let p = aStart[k]; p < aStart[k + 1]; p++) {
      const i = aIdx[p];
      const v = s.groupOfA[i] === FREE ? valueOf(s.a[i].fields) : undefined;
      if (v !== undefined) inA.set(v, [...(inA.get(v) ?? []), i]);
    }
    for (let p = bStart[k]; p < bStart[k + 1]; p++) {
      const j = bIdx[p];
      const v = s.groupOfB[j] === FREE ? valueOf(s.b[j].fields) : undefined;
      const as = v === undefined ? undefined : inA.get(v);
      if (as === undefined) continue;
      out.add(~j);
      for (const i of as) out.add(i);
    }
  }
  return out;
}

export function runSumWindow(s: MatchState, r: number, rule: SumWindowRule): void {
  const oneIsA = rule.one_side === 'a';
  const oneAmount = oneIsA ? s.amountA : s.amountB;
  const manyAmount = oneIsA ? s.amountB : s.amountA;
  const oneDay = oneIsA ? s.dayA : s.dayB;
  const manyDay = oneIsA ? s.dayB : s.dayA;
  const oneGroup = oneIsA ? s.groupOfA : s.groupOfB;
  const manyGroup = oneIsA ? s.groupOfB : s.groupOfA;
  const { aStart, aIdx, bStart, bIdx } = s.buckets;
  const oneMask = ruleMask(s, r, oneIsA ? 'a' : 'b');
  const manyMask = ruleMask(s, r, oneIsA ? 'b' : 'a');
  const takes = (mask: Uint8Array | undefined, x: number) => mask === undefined || mask[x] === 1;

  for (let k = 0; k < s.buckets.count; k++) {
    if (s.leftA[k] === 0 || s.leftB[k] === 0) continue;
    const ones: number[] = [];
    const many: number[] = [];
    const [oneStart, oneIdx, manyStart, manyIdx] = oneIsA ? [aStart, aIdx, bStart, bIdx] : [bStart, bIdx, aStart, aIdx];
    const spoken = spokenFor(s, k);
    for (let p = oneStart[k]; p < oneStart[k + 1]; p++) {
      const x = oneIdx[p];
      if (oneGroup[x] !== FREE || oneAmount[x] === 0 || oneDay[x] === NO_DAY || !takes(oneMask, x)) continue;
      if (!spoken.has(oneIsA ? x : ~x)) ones.push(x);
    }
    for (let p = manyStart[k]; p < manyStart[k + 1]; p++) {
      const y = manyIdx[p];
      if (manyGroup[y] !== FREE || manyAmount[y] === 0 || manyDay[y] === NO_DAY || !takes(manyMask, y)) continue;
      if (!spoken.has(oneIsA ? ~y : y)) many.push(y);
    }
    if (ones.length === 0 || many.length < rule.min_items) continue;
    many.sort((x, y) => manyDay[x] - manyDay[y] || x - y);
    const days = Int32Array.from(many, (y) => manyDay[y]);
    const lowerBound = (d: number): number => {
      let lo = 0;
      let hi = days.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (days[mid] < d) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };

    // Phase 1: the subsets of each single record.
    const solutions = new Map<number, number[][]>();
    /** Each searched record's candidates, largest first (a tangle searches them again, see untangle). */
    const candidatesOf = new Map<number, number[]>();
    const claimedBy = new Map<number, number[]>();
    /** The subset sizes searched per record: the rule's, or exactly the item count its count_field gives. */
    const sizes = new Map<number, [number, number]>();
    for (const x of ones) {
      let [min, max] = [rule.min_items, rule.max_items];
      if (rule.count_field !== undefined) {
        const n = itemCount((oneIsA ? s.a : s.b)[x], rule.count_field, rule.id);
        // A record that says it holds a number of items this rule does not search for is no sum of this rule.
        if (n !== undefined && (n < min || n > max)) continue;
        if (n !== undefined) [min, max] = [n, n];
      }
      const target = oneAmount[x];
      const sign = target < 0 ? -1 : 1;
      const from = lowerBound(oneDay[x] - rule.days_before);
      const to = lowerBound(oneDay[x] + rule.days_after + 1);
      const candidates: number[] = [];
      for (let p = from; p < to; p++) {
        const y = many[p];
        const v = manyAmount[y] * sign;
        if (v > 0 && v <= target * sign) candidates.push(y);
      }
      if (candidates.length < min) continue;
      const giveUp = (reason: GiveUpReason, combinations: number) =>
        s.giveUps.push({
          rule: r,
          group: `${(oneIsA ? s.a : s.b)[x].id} +${rule.days_after}/-${rule.days_before} days`,
          currency: s.buckets.currency[k],
          reason,
          a: oneIsA ? [x] : candidates.slice(),
          b: oneIsA ? candidates.slice() : [x],
          combinations,
        });
      if (candidates.length > rule.max_candidates) {
        giveUp('group_too_large', 0);
        continue;
      }
      candidates.sort((y1, y2) => manyAmount[y2] * sign - manyAmount[y1] * sign || y1 - y2);
      const search = { budget: rule.max_combinations, tried: 0 };
      const found = findSubsets(
        candidates.map((y) => manyAmount[y] * sign),
        target * sign,
        min,
        max,
        search,
        MAX_LISTED_SUBSETS + 1,
      );
      if (found === 'budget') {
        giveUp('budget_exhausted', rule.max_combinations);
        continue;
      }
      if (found.length === 0) continue;
      sizes.set(x, [min, max]);
      const subsets = found.map((positions) => positions.map((p) => candidates[p]));
      solutions.set(x, subsets);
      candidatesOf.set(x, candidates);
      for (const subset of subsets)
        for (const y of subset) {
          const list = claimedBy.get(y);
          if (list === undefined) claimedBy.set(y, [x]);
          else if (!list.includes(x)) list.push(x);
        }
    }

    /**
     * A tangle (more single records competing than a person could weigh at once): a record whose own search found
     * exactly one subset, none of whose records another such record's only subset needs, is proposed with that subset
     * alone (one candidate; never matched: that the subset's records are its own holds only if no other record of the
     * tangle needs them, which the amounts cannot show). Its records leave the pool; the tangle's records whose subsets
     * used them are searched again without them, and so on while that proposes something. Returns the records left,
     * to be given up.
     */
    const untangle = (cluster: number[]): number[] => {
      let open = cluster;
      for (;;) {
        const only = open.filter((z) => (solutions.get(z) as number[][]).length === 1);
        const uses = new Map<number, number>();
        for (const z of only) for (const y of (solutions.get(z) as number[][])[0]) uses.set(y, (uses.get(y) ?? 0) + 1);
        const taken = only.filter((z) => (solutions.get(z) as number[][])[0].every((y) => uses.get(y) === 1));
        if (taken.length === 0) return open;
        const held = new Set<number>();
        for (const z of taken) {
          const subset = (solutions.get(z) as number[][])[0].slice().sort((p, q) => p - q);
          const [as, bs] = oneIsA ? [[z], subset] : [subset, [z]];
          suggest(s, r, as, bs, [[as, bs]]);
          for (const y of subset) held.add(y);
        }
        open = open.filter((z) => !taken.includes(z));
        for (const z of open) {
          // Subsets of its own that the proposals left alone are still there: it has several, searching is moot.
          if ((solutions.get(z) as number[][]).every((sub) => !sub.some((y) => held.has(y)))) continue;
          const all = candidatesOf.get(z) as number[];
          const target = oneAmount[z];
          const sign = target < 0 ? -1 : 1;
          const free = all.filter((y) => manyGroup[y] === FREE);
          const [min, max] = sizes.get(z) as [number, number];
          const found = findSubsets(
            free.map((y) => manyAmount[y] * sign),
            target * sign,
            min,
            max,
            { budget: rule.max_combinations, tried: 0 },
          );
          // A search that runs out proves nothing: the record counts as having several subsets.
          solutions.set(z, found === 'budget' ? [[], []] : found.map((ps) => ps.map((p) => free[p])));
        }
      }
    };

    // Phase 2: clusters of single records linked by a shared candidate; a cluster of one record with one subset
    // matches, any other is proposed.
    const seen = new Set<number>();
    for (const x of solutions.keys()) {
      if (seen.has(x)) continue;
      const cluster: number[] = [];
      const stack = [x];
      seen.add(x);
      while (stack.length > 0) {
        const z = stack.pop() as number;
        cluster.push(z);
        for (const subset of solutions.get(z) as number[][])
          for (const y of subset)
            for (const other of claimedBy.get(y) as number[])
              if (!seen.has(other)) {
                seen.add(other);
                stack.push(other);
              }
      }
      const side = (one: number[], rest: number[]): [number[], number[]] => (oneIsA ? [one, rest] : [rest, one]);
      if (cluster.length === 1 && (solutions.get(x) as number[][]).length === 1) {
        const [as, bs] = side([x], (solutions.get(x) as number[][])[0]);
        addGroup(s, r, as, bs, sumOf(s.amountA, as), sumOf(s.amountB, bs));
        continue;
      }
      cluster.sort((p, q) => p - q);
      const records = new Set<number>();
      const candidates: [number[], number[]][] = [];
      for (const z of cluster)
        for (const subset of solutions.get(z) as number[][]) {
          for (const y of subset) records.add(y);
          candidates.push(side([z], subset));
        }
      // Amounts that many subsets of a dense pool happen to reach are no evidence worth a person's time: such a
      // tangle is not proposed; its records stay for categorisation and the search is reported as given up.
      // So is a cluster holding a record with more subsets than can be listed: its records still compete (a subset
      // of another record may be its), but the list a person would be given is not the whole story.
      const tooMany = (z: number) => (solutions.get(z) as number[][]).length > MAX_LISTED_SUBSETS;
      if (cluster.length > MAX_PROPOSED_SINGLES || records.size > 2 * rule.max_items || cluster.some(tooMany)) {
        for (const z of untangle(cluster))
          s.giveUps.push({
            rule: r,
            group: `${(oneIsA ? s.a : s.b)[z].id}: ${cluster.length} records compete for ${records.size}`,
            currency: s.buckets.currency[k],
            reason: tooMany(z) ? 'too_many_subsets' : 'group_too_large',
            a: oneIsA ? [z] : [],
            b: oneIsA ? [] : [z],
            combinations: (solutions.get(z) as number[][]).length,
          });
        continue;
      }
      const [as, bs] = side(
        cluster,
        [...records].sort((p, q) => p - q),
      );
      suggest(s, r, as, bs, candidates);
    }
  }
}
