// The match state shared by the rules: records grouped into buckets (same currency and key), amounts and dates in
// typed arrays, and the matches made so far.
//
// Layout, chosen for ~1M records per side: buckets are stored as compressed index arrays (CSR) rather than one array
// per key; the match state is two Int32Arrays. The common case - one record per key on each side - takes a fast path
// with no allocation. Amounts are safe-integer minor units; sums use minor.ts, so nothing is lost past 2^53.
import type { ReconciliationDefinition } from './definition';
import { MinorSum, type Minor } from './minor';
import type { NormalisedRecord } from './normalise';

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

/** `too_many_subsets`: a sum_window record that more subsets add up to than a person could be asked to weigh. */
export type GiveUpReason = 'group_too_large' | 'budget_exhausted' | 'amount_too_large' | 'too_many_subsets';

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

/** groupOfA / groupOfB of a record no rule has matched or proposed yet. */
export const FREE = -1;
/** groupOfA / groupOfB of a record held in a suggestion: a person decides, so no later rule is offered it. */
const SUGGESTED = -2;

/**
 * A proposal instead of a match: the rule found several equally good ways to pair these records (equal amounts in
 * the date window, two subsets with one sum) and the data cannot decide which is right. `candidates` lists the
 * alternatives as record-index pairs of subsets.
 */
export interface Suggestion {
  rule: number;
  a: number[];
  b: number[];
  candidates: [number[], number[]][];
  /** How many alternatives there are (candidates may list only the first of them). */
  candidateCount: number;
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
  /** Index of the match (see Groups), FREE while unmatched, SUGGESTED while held in a suggestion. */
  groupOfA: Int32Array;
  groupOfB: Int32Array;
  /** Unmatched records left per bucket and side (lets rules skip settled keys without looking at records). */
  leftA: Int32Array;
  leftB: Int32Array;
  groups: Groups;
  giveUps: GiveUp[];
  suggestions: Suggestion[];
  /** Per rule and side (2r, 2r+1), which records the rule's where_a / where_b let it take (see match-where.ts). */
  masks: Map<number, Uint8Array>;
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

export function createMatchState(
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
    groupOfA: new Int32Array(a.length).fill(FREE),
    groupOfB: new Int32Array(b.length).fill(FREE),
    leftA,
    leftB,
    groups: { rule: [], aStart: [0], bStart: [0], itemsA: [], itemsB: [], sumA: [], sumB: [] },
    giveUps: [],
    suggestions: [],
    masks: new Map(),
  };
}

export function addGroup(s: MatchState, rule: number, a: number[], b: number[], sumA: Minor, sumB: Minor): void {
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
export function pair(s: MatchState, rule: number, i: number, j: number): void {
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

/**
 * Unmatched records of bucket k, in input order, into the reused scratch arrays; with masks (a rule's where_a /
 * where_b, see match-where.ts), only those the masks let through.
 */
export function collect(
  s: MatchState,
  k: number,
  ua: number[],
  ub: number[],
  maskA?: Uint8Array,
  maskB?: Uint8Array,
): void {
  const { aStart, aIdx, bStart, bIdx } = s.buckets;
  ua.length = 0;
  ub.length = 0;
  for (let p = aStart[k]; p < aStart[k + 1]; p++) {
    const i = aIdx[p];
    if (s.groupOfA[i] === FREE && (maskA === undefined || maskA[i] === 1)) ua.push(i);
  }
  for (let p = bStart[k]; p < bStart[k + 1]; p++) {
    const j = bIdx[p];
    if (s.groupOfB[j] === FREE && (maskB === undefined || maskB[j] === 1)) ub.push(j);
  }
}

/** Whether the key of bucket k occurs more than once on either side of the partition. */
export function isDuplicateKey(s: MatchState, k: number): boolean {
  const { aStart, bStart } = s.buckets;
  return aStart[k + 1] - aStart[k] > 1 || bStart[k + 1] - bStart[k] > 1;
}

/** The one unmatched record of each side when bucket k holds exactly one per side, else -1. */
export function singlePair(s: MatchState, k: number): [number, number] | undefined {
  const { aStart, aIdx, bStart, bIdx } = s.buckets;
  if (aStart[k + 1] - aStart[k] !== 1 || bStart[k + 1] - bStart[k] !== 1) return undefined;
  return [aIdx[aStart[k]], bIdx[bStart[k]]];
}

export function sumOf(amounts: Float64Array, idx: readonly number[]): Minor {
  const acc = new MinorSum();
  for (const i of idx) acc.add(amounts[i]);
  return acc.value();
}

/**
 * Holds records in a suggestion: they leave the pool (no later rule takes them) and end up as one open
 * `suggested_match` exception.
 */
export function suggest(
  s: MatchState,
  rule: number,
  a: number[],
  b: number[],
  candidates: [number[], number[]][],
  candidateCount = candidates.length,
): void {
  for (const i of a) {
    s.groupOfA[i] = SUGGESTED;
    s.leftA[s.bucketOfA[i]]--;
  }
  for (const j of b) {
    s.groupOfB[j] = SUGGESTED;
    s.leftB[s.bucketOfB[j]]--;
  }
  s.suggestions.push({ rule, a, b, candidates, candidateCount });
}
