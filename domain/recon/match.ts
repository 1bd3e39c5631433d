// The matching engine: rules run in the definition's order over one partition held in memory, and a record matched by
// an earlier rule is never offered to a later one.
//
// Layout, chosen for ~1M records per side: records are grouped into buckets (same currency and key) once, stored as
// compressed index arrays (CSR) rather than one array per key; amounts and dates are copied into typed arrays; the
// match state is two Int32Arrays. The common case - one record per key on each side - takes a fast path with no
// allocation. Amounts are safe-integer minor units; sums use minor.ts, so nothing is lost past 2^53.
import type { MatchRule, ReconciliationDefinition } from './definition';
import { MinorSum, absMinor, limitToMinor, percentToFraction, subMinor, withinFraction, type Minor } from './minor';
import { currencyScale, type NormalisedRecord } from './normalise';

/** Day number of a record without a date. */
export const NO_DAY = -2147483648;

/** Days since 1970-01-01 of an ISO `yyyy-MM-dd` date (proleptic Gregorian, integer arithmetic only). */
export function dayNumber(iso: string): number {
  const c0 = 48;
  let y =
    (iso.charCodeAt(0) - c0) * 1000 +
    (iso.charCodeAt(1) - c0) * 100 +
    (iso.charCodeAt(2) - c0) * 10 +
    (iso.charCodeAt(3) - c0);
  const m = (iso.charCodeAt(5) - c0) * 10 + (iso.charCodeAt(6) - c0);
  const d = (iso.charCodeAt(8) - c0) * 10 + (iso.charCodeAt(9) - c0);
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export interface Buckets {
  count: number;
  key: string[];
  currency: string[];
  /** Records of bucket k on side a: aIdx[aStart[k] .. aStart[k+1]-1], in input order. */
  aStart: Int32Array;
  aIdx: Int32Array;
  bStart: Int32Array;
  bIdx: Int32Array;
}

/**
 * The matches, column by column (one object per match would be a million allocations per partition): match g was
 * made by rule `rule[g]` and holds side-a records itemsA[aStart[g] .. aStart[g+1]-1] (same for b), with sums in
 * minor units. Every match holds at least one record of each side.
 */
export interface Groups {
  rule: number[];
  aStart: number[];
  bStart: number[];
  itemsA: number[];
  itemsB: number[];
  sumA: Minor[];
  sumB: Minor[];
}

/** The record indices of side a (or b) of match g. */
export function groupItems(groups: Groups, g: number, side: 'a' | 'b'): number[] {
  return side === 'a'
    ? groups.itemsA.slice(groups.aStart[g], groups.aStart[g + 1])
    : groups.itemsB.slice(groups.bStart[g], groups.bStart[g + 1]);
}

export type GiveUpReason = 'group_too_large' | 'budget_exhausted' | 'amount_too_large';

/** A subset-sum group the search abandoned: its records stay unmatched and go on to categorisation. */
export interface GiveUp {
  rule: number;
  /** The key, or `<field>=<value>` when grouping by a field. */
  group: string;
  currency: string;
  reason: GiveUpReason;
  a: number[];
  b: number[];
  combinations: number;
}

export interface MatchState {
  definition: ReconciliationDefinition;
  a: readonly NormalisedRecord[];
  b: readonly NormalisedRecord[];
  amountA: Float64Array;
  amountB: Float64Array;
  dayA: Int32Array;
  dayB: Int32Array;
  bucketOfA: Int32Array;
  bucketOfB: Int32Array;
  buckets: Buckets;
  /** Index of the match (see Groups), or -1 while unmatched. */
  groupOfA: Int32Array;
  groupOfB: Int32Array;
  /** Unmatched records left per bucket and side (lets rules skip settled keys without looking at records). */
  leftA: Int32Array;
  leftB: Int32Array;
  groups: Groups;
  giveUps: GiveUp[];
}

function buildBuckets(a: readonly NormalisedRecord[], b: readonly NormalisedRecord[]) {
  const ids = new Map<string, Map<string, number>>();
  const key: string[] = [];
  const currency: string[] = [];
  const bucketOf = (records: readonly NormalisedRecord[]): Int32Array => {
    const out = new Int32Array(records.length);
    let lastCurrency = '';
    let byKey: Map<string, number> | undefined;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (byKey === undefined || r.currency !== lastCurrency) {
        lastCurrency = r.currency;
        byKey = ids.get(lastCurrency);
        if (byKey === undefined) {
          byKey = new Map();
          ids.set(lastCurrency, byKey);
        }
      }
      let id = byKey.get(r.key);
      if (id === undefined) {
        id = key.length;
        byKey.set(r.key, id);
        key.push(r.key);
        currency.push(r.currency);
      }
      out[i] = id;
    }
    return out;
  };
  const bucketOfA = bucketOf(a);
  const bucketOfB = bucketOf(b);
  const count = key.length;
  const csr = (of: Int32Array): [Int32Array, Int32Array] => {
    const start = new Int32Array(count + 1);
    for (let i = 0; i < of.length; i++) start[of[i] + 1]++;
    for (let k = 0; k < count; k++) start[k + 1] += start[k];
    const fill = start.slice(0, count);
    const idx = new Int32Array(of.length);
    for (let i = 0; i < of.length; i++) idx[fill[of[i]]++] = i;
    return [start, idx];
  };
  const [aStart, aIdx] = csr(bucketOfA);
  const [bStart, bIdx] = csr(bucketOfB);
  return { bucketOfA, bucketOfB, buckets: { count, key, currency, aStart, aIdx, bStart, bIdx } };
}

function sideArrays(records: readonly NormalisedRecord[]): [Float64Array, Int32Array] {
  const amount = new Float64Array(records.length);
  const day = new Int32Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    amount[i] = r.amountMinor;
    day[i] = r.date === null ? NO_DAY : dayNumber(r.date);
  }
  return [amount, day];
}

function createMatchState(
  a: readonly NormalisedRecord[],
  b: readonly NormalisedRecord[],
  definition: ReconciliationDefinition,
): MatchState {
  const { bucketOfA, bucketOfB, buckets } = buildBuckets(a, b);
  const [amountA, dayA] = sideArrays(a);
  const [amountB, dayB] = sideArrays(b);
  const leftA = new Int32Array(buckets.count);
  const leftB = new Int32Array(buckets.count);
  for (let k = 0; k < buckets.count; k++) {
    leftA[k] = buckets.aStart[k + 1] - buckets.aStart[k];
    leftB[k] = buckets.bStart[k + 1] - buckets.bStart[k];
  }
  return {
    definition,
    a,
    b,
    amountA,
    amountB,
    dayA,
    dayB,
    bucketOfA,
    bucketOfB,
    buckets,
    groupOfA: new Int32Array(a.length).fill(-1),
    groupOfB: new Int32Array(b.length).fill(-1),
    leftA,
    leftB,
    groups: { rule: [], aStart: [0], bStart: [0], itemsA: [], itemsB: [], sumA: [], sumB: [] },
    giveUps: [],
  };
}

function addGroup(s: MatchState, rule: number, a: number[], b: number[], sumA: Minor, sumB: Minor): void {
  const groups = s.groups;
  const g = groups.rule.length;
  groups.rule.push(rule);
  for (const i of a) {
    groups.itemsA.push(i);
    s.groupOfA[i] = g;
    s.leftA[s.bucketOfA[i]]--;
  }
  for (const j of b) {
    groups.itemsB.push(j);
    s.groupOfB[j] = g;
    s.leftB[s.bucketOfB[j]]--;
  }
  groups.aStart.push(groups.itemsA.length);
  groups.bStart.push(groups.itemsB.length);
  groups.sumA.push(sumA);
  groups.sumB.push(sumB);
}

/** A one-to-one match, without the arrays addGroup takes (the hot path of exact matching). */
function pair(s: MatchState, rule: number, i: number, j: number): void {
  const groups = s.groups;
  const g = groups.rule.length;
  groups.rule.push(rule);
  groups.itemsA.push(i);
  groups.itemsB.push(j);
  groups.aStart.push(groups.itemsA.length);
  groups.bStart.push(groups.itemsB.length);
  groups.sumA.push(s.amountA[i]);
  groups.sumB.push(s.amountB[j]);
  s.groupOfA[i] = g;
  s.groupOfB[j] = g;
  s.leftA[s.bucketOfA[i]]--;
  s.leftB[s.bucketOfB[j]]--;
}

/** Unmatched records of bucket k, in input order, into the reused scratch arrays. */
function collect(s: MatchState, k: number, ua: number[], ub: number[]): void {
  const { aStart, aIdx, bStart, bIdx } = s.buckets;
  ua.length = 0;
  ub.length = 0;
  for (let p = aStart[k]; p < aStart[k + 1]; p++) if (s.groupOfA[aIdx[p]] < 0) ua.push(aIdx[p]);
  for (let p = bStart[k]; p < bStart[k + 1]; p++) if (s.groupOfB[bIdx[p]] < 0) ub.push(bIdx[p]);
}

/** Whether the key of bucket k occurs more than once on either side of the partition. */
export function isDuplicateKey(s: MatchState, k: number): boolean {
  const { aStart, bStart } = s.buckets;
  return aStart[k + 1] - aStart[k] > 1 || bStart[k + 1] - bStart[k] > 1;
}

/** The one unmatched record of each side when bucket k holds exactly one per side, else -1. */
function singlePair(s: MatchState, k: number): [number, number] | undefined {
  const { aStart, aIdx, bStart, bIdx } = s.buckets;
  if (aStart[k + 1] - aStart[k] !== 1 || bStart[k + 1] - bStart[k] !== 1) return undefined;
  return [aIdx[aStart[k]], bIdx[bStart[k]]];
}

// ---- exact ------------------------------------------------------------------------------------------------------

function runExact(s: MatchState, r: number, rule: Extract<MatchRule, { type: 'exact' }>): void {
  const { amountA, amountB, dayA, dayB } = s;
  const cmpDate = rule.compare_date;
  const ua: number[] = [];
  const ub: number[] = [];
  for (let k = 0; k < s.buckets.count; k++) {
    if (s.leftA[k] === 0 || s.leftB[k] === 0) continue;
    if (rule.expect_unique && isDuplicateKey(s, k)) continue;
    const single = singlePair(s, k);
    if (single !== undefined) {
      const [i, j] = single;
      if (amountA[i] === amountB[j] && (!cmpDate || dayA[i] === dayB[j])) pair(s, r, i, j);
      continue;
    }
    collect(s, k, ua, ub);
    // Candidates per amount (and date), consumed in input order: the first unmatched equal record pairs first.
    const byValue = new Map<number | string, number[]>();
    for (let q = ub.length - 1; q >= 0; q--) {
      const j = ub[q];
      const v = cmpDate ? `${amountB[j]}|${dayB[j]}` : amountB[j];
      const list = byValue.get(v);
      if (list === undefined) byValue.set(v, [j]);
      else list.push(j);
    }
    for (const i of ua) {
      const list = byValue.get(cmpDate ? `${amountA[i]}|${dayA[i]}` : amountA[i]);
      const j = list?.pop();
      if (j !== undefined) pair(s, r, i, j);
    }
  }
}

// ---- tolerance --------------------------------------------------------------------------------------------------

interface Tolerance {
  absolute: Map<string, number>;
  fraction: { num: bigint; den: bigint } | undefined;
  all: boolean;
  absoluteText: string | undefined;
}

function compileTolerance(rule: Extract<MatchRule, { type: 'tolerance' }>): Tolerance {
  return {
    absolute: new Map(),
    fraction: rule.percent === undefined ? undefined : percentToFraction(rule.percent),
    all: rule.combine === 'all',
    absoluteText: rule.absolute,
  };
}

function absoluteLimit(s: MatchState, t: { absolute: Map<string, number> }, text: string, currency: string): number {
  let v = t.absolute.get(currency);
  if (v === undefined) {
    v = limitToMinor(text, currencyScale(s.definition, currency));
    t.absolute.set(currency, v);
  }
  return v;
}

function within(s: MatchState, t: Tolerance, currency: string, x: number, y: number): boolean {
  let okAbs: boolean | undefined;
  if (t.absoluteText !== undefined) {
    const d = x - y;
    // An unsafe difference is at least 2^53, beyond any limit.
    okAbs = Number.isSafeInteger(d) && Math.abs(d) <= absoluteLimit(s, t, t.absoluteText, currency);
    if (t.fraction === undefined || okAbs !== t.all) return okAbs;
  }
  const f = t.fraction as { num: bigint; den: bigint };
  return withinFraction(x, y, f.num, f.den);
}

/** Union-find root with path halving: the nearest free slot in the direction the links point. */
function findRoot(parent: Int32Array, x: number): number {
  while (parent[x] !== x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

function runTolerance(s: MatchState, r: number, rule: Extract<MatchRule, { type: 'tolerance' }>): void {
  const t = compileTolerance(rule);
  const { amountA, amountB, dayA, dayB } = s;
  const maxDays = rule.max_days_apart;
  const datesOk = (i: number, j: number): boolean =>
    maxDays === undefined || (dayA[i] !== NO_DAY && dayB[j] !== NO_DAY && Math.abs(dayA[i] - dayB[j]) <= maxDays);
  const ua: number[] = [];
  const ub: number[] = [];
  for (let k = 0; k < s.buckets.count; k++) {
    if (s.leftA[k] === 0 || s.leftB[k] === 0) continue;
    if (rule.expect_unique && isDuplicateKey(s, k)) continue;
    const currency = s.buckets.currency[k];
    const single = singlePair(s, k);
    if (single !== undefined) {
      const [i, j] = single;
      if (within(s, t, currency, amountA[i], amountB[j]) && datesOk(i, j)) pair(s, r, i, j);
      continue;
    }
    collect(s, k, ua, ub);
    // Each a (in input order) takes the nearest free b by amount that is within the tolerance (and the date
    // limit), searching down and up from its amount: once a candidate's amount is outside the tolerance, farther ones
    // are too. Ties go to the smaller amount.
    const sorted = ub.slice().sort((x, y) => amountB[x] - amountB[y] || x - y);
    const n = sorted.length;
    // right: slot p links to the next free slot at or above it (n = none); left: entry p + 1 stands for slot p and
    // links downwards (entry 0 = none).
    const right = new Int32Array(n + 1);
    const left = new Int32Array(n + 1);
    for (let p = 0; p <= n; p++) {
      right[p] = p;
      left[p] = p;
    }
    for (const i of ua) {
      const x = amountA[i];
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (amountB[sorted[mid]] < x) lo = mid + 1;
        else hi = mid;
      }
      let best = -1;
      let bestDiff = 0;
      for (let p = findRoot(left, lo) - 1; p >= 0; p = findRoot(left, p) - 1) {
        const y = amountB[sorted[p]];
        if (!within(s, t, currency, x, y)) break;
        if (datesOk(i, sorted[p])) {
          best = p;
          bestDiff = x - y;
          break;
        }
      }
      for (let p = findRoot(right, lo); p < n; p = findRoot(right, p + 1)) {
        const y = amountB[sorted[p]];
        if (!within(s, t, currency, x, y)) break;
        if (datesOk(i, sorted[p])) {
          if (best < 0 || y - x < bestDiff) best = p;
          break;
        }
      }
      if (best < 0) continue;
      pair(s, r, i, sorted[best]);
      right[best] = best + 1;
      left[best + 1] = best;
    }
  }
}

// ---- aggregated -------------------------------------------------------------------------------------------------

function sumOf(amounts: Float64Array, idx: readonly number[]): Minor {
  const acc = new MinorSum();
  for (const i of idx) acc.add(amounts[i]);
  return acc.value();
}

function runAggregated(s: MatchState, r: number, rule: Extract<MatchRule, { type: 'aggregated' }>): void {
  const t = { absolute: new Map<string, number>() };
  const ua: number[] = [];
  const ub: number[] = [];
  for (let k = 0; k < s.buckets.count; k++) {
    const na = s.leftA[k];
    const nb = s.leftB[k];
    if (na === 0 || nb === 0) continue;
    // One record against one is not an aggregate (the exact rule's business; matching it here, dates ignored,
    // would hide timing differences).
    if (na === 1 && nb === 1) continue;
    if (rule.cardinality === 'many_to_one' && na > 1 && nb > 1) continue;
    collect(s, k, ua, ub);
    const sumA = sumOf(s.amountA, ua);
    const sumB = sumOf(s.amountB, ub);
    const limit = absoluteLimit(s, t, rule.absolute, s.buckets.currency[k]);
    if (absMinor(subMinor(sumA, sumB)) <= limit) addGroup(s, r, ua.slice(), ub.slice(), sumA, sumB);
  }
}

// ---- date window ------------------------------------------------------------------------------------------------

function runDateWindow(s: MatchState, r: number, rule: Extract<MatchRule, { type: 'date_window' }>): void {
  const { amountA, amountB, dayA, dayB } = s;
  const days = rule.days;
  const ua: number[] = [];
  const ub: number[] = [];
  for (let k = 0; k < s.buckets.count; k++) {
    if (s.leftA[k] === 0 || s.leftB[k] === 0) continue;
    if (rule.expect_unique && isDuplicateKey(s, k)) continue;
    const single = singlePair(s, k);
    if (single !== undefined) {
      const [i, j] = single;
      if (amountA[i] === amountB[j] && dayA[i] !== NO_DAY && dayB[j] !== NO_DAY && Math.abs(dayA[i] - dayB[j]) <= days)
        pair(s, r, i, j);
      continue;
    }
    collect(s, k, ua, ub);
    const byAmount = new Map<number, number[]>();
    for (const j of ub) {
      if (dayB[j] === NO_DAY) continue;
      const list = byAmount.get(amountB[j]);
      if (list === undefined) byAmount.set(amountB[j], [j]);
      else list.push(j);
    }
    const aByAmount = new Map<number, number[]>();
    for (const i of ua) {
      if (dayA[i] === NO_DAY || !byAmount.has(amountA[i])) continue;
      const list = aByAmount.get(amountA[i]);
      if (list === undefined) aByAmount.set(amountA[i], [i]);
      else list.push(i);
    }
    // Per amount, both sides in date order; the earliest a and b pair when within the window, else the earlier one
    // cannot pair with anything later and is passed over. This pairs as many as any assignment could.
    for (const [amount, as] of aByAmount) {
      const bs = byAmount.get(amount) as number[];
      as.sort((x, y) => dayA[x] - dayA[y] || x - y);
      bs.sort((x, y) => dayB[x] - dayB[y] || x - y);
      let p = 0;
      let q = 0;
      while (p < as.length && q < bs.length) {
        const dA = dayA[as[p]];
        const dB = dayB[bs[q]];
        if (Math.abs(dA - dB) <= days) pair(s, r, as[p++], bs[q++]);
        else if (dA < dB) p++;
        else q++;
      }
    }
  }
}

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

/**
 * One search pass: the sums of all subsets of `xs` (sizes 1..maxX) go into maps, then subsets of `ys` (sizes
 * minY..maxY, smallest first) are looked up. A single record against a single record is never a subset match (that
 * is the exact rule's business, and would hide timing differences). Returns the first pair of subsets found as
 * record indices, null when there is none, or 'budget' when the search ran out of combinations.
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
): [number[], number[]] | null | 'budget' {
  const singles = new Map<number, number[]>();
  const multiples = new Map<number, number[]>();
  const idx = new Int32Array(Math.max(maxX, maxY));
  for (let k = 1; k <= Math.min(maxX, xs.length); k++) {
    const sums = k === 1 ? singles : multiples;
    for (let q = 0; q < k; q++) idx[q] = q;
    do {
      if (++search.tried > search.budget) return 'budget';
      let sum = 0;
      for (let q = 0; q < k; q++) sum += xAmounts[xs[idx[q]]];
      if (!sums.has(sum))
        sums.set(
          sum,
          Array.from(idx.subarray(0, k), (p) => xs[p]),
        );
    } while (nextCombination(idx, k, xs.length));
  }
  for (let k = minY; k <= Math.min(maxY, ys.length); k++) {
    for (let q = 0; q < k; q++) idx[q] = q;
    do {
      if (++search.tried > search.budget) return 'budget';
      let sum = 0;
      for (let q = 0; q < k; q++) sum += yAmounts[ys[idx[q]]];
      const hit = (k > 1 ? singles.get(sum) : undefined) ?? multiples.get(sum);
      if (hit !== undefined) return [hit, Array.from(idx.subarray(0, k), (p) => ys[p])];
    } while (nextCombination(idx, k, ys.length));
  }
  return null;
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
      a: groupA.filter((i) => s.groupOfA[i] < 0),
      b: groupB.filter((j) => s.groupOfB[j] < 0),
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
      const freeA = groupA.filter((i) => s.groupOfA[i] < 0);
      const freeB = groupB.filter((j) => s.groupOfB[j] < 0);
      if (freeA.length === 0 || freeB.length === 0) return;
      const found = flipped
        ? findEqualSubsets(freeB, s.amountB, maxX, freeA, s.amountA, minY, maxY, search)
        : findEqualSubsets(freeA, s.amountA, maxX, freeB, s.amountB, minY, maxY, search);
      if (found === 'budget') return giveUp('budget_exhausted', search.tried - 1);
      if (found === null) break;
      const [as, bs] = flipped ? [found[1], found[0]] : found;
      const sum = sumOf(s.amountA, as);
      addGroup(s, r, as, bs, sum, sum);
    }
  }
}

function runSubsetSum(s: MatchState, r: number, rule: Extract<MatchRule, { type: 'subset_sum' }>): void {
  if (rule.group_by === 'key') {
    const ua: number[] = [];
    const ub: number[] = [];
    for (let k = 0; k < s.buckets.count; k++) {
      // A subset match needs a record on each side and two on one of them.
      if (s.leftA[k] === 0 || s.leftB[k] === 0 || s.leftA[k] + s.leftB[k] < 3) continue;
      collect(s, k, ua, ub);
      subsetGroup(s, r, rule, s.buckets.key[k], s.buckets.currency[k], ua.slice(), ub.slice());
    }
    return;
  }
  // Grouping by another field (a payment reference): the groups span keys, within this partition and currency.
  const field = rule.group_by.field;
  const groups = new Map<string, { currency: string; value: string; a: number[]; b: number[] }>();
  const place = (records: readonly NormalisedRecord[], groupOf: Int32Array, side: 'a' | 'b') => {
    for (let i = 0; i < records.length; i++) {
      if (groupOf[i] >= 0) continue;
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

/** Runs every rule of the definition in order over one partition. */
export function matchRecords(
  a: readonly NormalisedRecord[],
  b: readonly NormalisedRecord[],
  definition: ReconciliationDefinition,
): MatchState {
  const s = createMatchState(a, b, definition);
  definition.rules.forEach((rule, r) => {
    switch (rule.type) {
      case 'exact':
        return runExact(s, r, rule);
      case 'tolerance':
        return runTolerance(s, r, rule);
      case 'aggregated':
        return runAggregated(s, r, rule);
      case 'date_window':
        return runDateWindow(s, r, rule);
      case 'subset_sum':
        return runSubsetSum(s, r, rule);
    }
  });
  return s;
}
