// The entry point for one partition: match, categorise, total, check. Pure: the activity that calls it reads the
// records (connectors + normalise) and writes the result (result store); the workflow sees only the summary.
import { categorise, CATEGORIES, type Category, type CategorisedException, type Evidence } from './categorise';
import { assertControlTotals, sideTotals, type CurrencyDifference, type ReconSummary } from './control-totals';
import type { MatchRule, ReconciliationDefinition, Side } from './definition';
import { matchRecords, type GiveUpReason, type MatchState } from './match';
import { MinorSum, formatMinor, subMinor, type Minor } from './minor';
import { currencyScale, type NormalisedRecord } from './normalise';

export interface ReconMatch {
  /** The id of the first record of the match (side a first): stable, unique within the reconciliation. */
  id: string;
  rule: string;
  rule_type: MatchRule['type'];
  key: string;
  currency: string;
  a: string[];
  b: string[];
  amount_a: string;
  amount_b: string;
  /** amount_a - amount_b; non-zero only for rules with a tolerance (and then also an accepted exception). */
  difference: string;
}

export interface ReconException {
  /** The id of the first record in it (side a first): each record is in exactly one exception. */
  id: string;
  category: Category;
  /** True for differences still to be explained; false for differences a matching rule accepted. */
  open: boolean;
  rule?: string;
  key: string;
  currency: string;
  a: string[];
  b: string[];
  amount_a: string;
  amount_b: string;
  difference: string;
  evidence: Evidence;
}

export interface ReconGiveUp {
  rule: string;
  group: string;
  currency: string;
  reason: GiveUpReason;
  a: string[];
  b: string[];
  combinations: number;
}

export interface ReconResult {
  matches: ReconMatch[];
  exceptions: ReconException[];
  gave_up: ReconGiveUp[];
  summary: ReconSummary;
}

export class PartitionInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartitionInputError';
  }
}

function checkPartition(records: readonly NormalisedRecord[], side: Side): void {
  const ids = new Set<string>();
  for (const r of records) {
    if (r.side !== side) throw new PartitionInputError(`record ${r.id} of side ${r.side} was passed as side ${side}`);
    if (ids.has(r.id)) throw new PartitionInputError(`record id ${r.id} occurs twice on side ${side}`);
    ids.add(r.id);
  }
}

function ids(records: readonly NormalisedRecord[], idx: readonly number[], from = 0, to = idx.length): string[] {
  const out = new Array<string>(to - from);
  for (let p = from; p < to; p++) out[p - from] = records[idx[p]].id;
  return out;
}

function toException(s: MatchState, e: CategorisedException, scale: number): ReconException {
  const a = ids(s.a, e.a);
  const b = ids(s.b, e.b);
  const out: ReconException = {
    id: a.length > 0 ? a[0] : b[0],
    category: e.category,
    open: e.open,
    key: e.bucketKey,
    currency: e.currency,
    a,
    b,
    amount_a: formatMinor(e.sumA, scale),
    amount_b: formatMinor(e.sumB, scale),
    difference: formatMinor(subMinor(e.sumA, e.sumB), scale),
    evidence: e.evidence,
  };
  if (e.rule !== undefined) out.rule = s.definition.rules[e.rule].id;
  return out;
}

/**
 * Reconciles one partition: the records of both sides whose keys hash to it (see partition.ts). Returns every
 * match (with its rule), every exception (with category and evidence) and the control totals, which are checked
 * before returning: a ControlTotalsError means the engine lost or double-counted a record and nothing should be kept.
 */
export function reconcile(
  partitionA: readonly NormalisedRecord[],
  partitionB: readonly NormalisedRecord[],
  definition: ReconciliationDefinition,
): ReconResult {
  checkPartition(partitionA, 'a');
  checkPartition(partitionB, 'b');
  const s = matchRecords(partitionA, partitionB, definition);
  const categorised = categorise(s);
  const scales = new Map<string, number>();
  const scaleOf = (currency: string): number => {
    let v = scales.get(currency);
    if (v === undefined) {
      v = currencyScale(definition, currency);
      scales.set(currency, v);
    }
    return v;
  };

  const matchesByRule: Record<string, number> = Object.fromEntries(definition.rules.map((r) => [r.id, 0]));
  const groups = s.groups;
  const count = groups.rule.length;
  const matches = new Array<ReconMatch>(count);
  // One-to-one exact matches dominate: their amounts share one string and their zero difference is cached per scale.
  const zero = new Map<number, string>();
  for (let g = 0; g < count; g++) {
    const rule = definition.rules[groups.rule[g]];
    const a = ids(s.a, groups.itemsA, groups.aStart[g], groups.aStart[g + 1]);
    const b = ids(s.b, groups.itemsB, groups.bStart[g], groups.bStart[g + 1]);
    const k = s.bucketOfA[groups.itemsA[groups.aStart[g]]];
    const currency = s.buckets.currency[k];
    const scale = scaleOf(currency);
    const sumA = groups.sumA[g];
    const sumB = groups.sumB[g];
    const amountA = formatMinor(sumA, scale);
    let difference: string;
    if (sumA === sumB) {
      difference = zero.get(scale) ?? formatMinor(0, scale);
      zero.set(scale, difference);
    } else difference = formatMinor(subMinor(sumA, sumB), scale);
    matchesByRule[rule.id]++;
    matches[g] = {
      id: a[0],
      rule: rule.id,
      rule_type: rule.type,
      key: a.length === 1 && b.length === 1 ? s.buckets.key[k] : groupKey(s, g, k),
      currency,
      a,
      b,
      amount_a: amountA,
      amount_b: sumA === sumB ? amountA : formatMinor(sumB, scale),
      difference,
    };
  }
  const matchedA = groups.itemsA;
  const matchedB = groups.itemsB;

  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  const unmatchedA: number[] = [];
  const unmatchedB: number[] = [];
  const exceptionTotals = new Map<string, MinorSum[]>();
  const exceptions = new Array<ReconException>(categorised.length);
  let open = 0;
  for (let x = 0; x < categorised.length; x++) {
    const e = categorised[x];
    byCategory[e.category]++;
    if (e.open) {
      open++;
      for (const i of e.a) unmatchedA.push(i);
      for (const j of e.b) unmatchedB.push(j);
    }
    let t = exceptionTotals.get(e.currency);
    if (t === undefined) {
      t = [new MinorSum(), new MinorSum()];
      exceptionTotals.set(e.currency, t);
    }
    t[0].addMinor(e.sumA);
    t[1].addMinor(e.sumB);
    exceptions[x] = toException(s, e, scaleOf(e.currency));
  }

  const a = sideTotals(partitionA, matchedA, unmatchedA, scaleOf);
  const b = sideTotals(partitionB, matchedB, unmatchedB, scaleOf);
  const currencies = new Set([...a.amounts, ...b.amounts].map((c) => c.currency));
  const differences: CurrencyDifference[] = [...currencies].sort().map((currency) => {
    const scale = scaleOf(currency);
    const inA = sumOfSide(partitionA, currency);
    const inB = sumOfSide(partitionB, currency);
    const t = exceptionTotals.get(currency);
    const ex = t === undefined ? 0 : subMinor(t[0].value(), t[1].value());
    return { currency, a_minus_b: formatMinor(subMinor(inA, inB), scale), exceptions_total: formatMinor(ex, scale) };
  });

  const suggestedByRule: Record<string, number> = Object.fromEntries(definition.rules.map((r) => [r.id, 0]));
  for (const x of s.suggestions) suggestedByRule[definition.rules[x.rule].id]++;
  const summary: ReconSummary = {
    reconciliation: definition.id,
    partitions: 1,
    a,
    b,
    matches: matches.length,
    matches_by_rule: matchesByRule,
    suggested_by_rule: suggestedByRule,
    exceptions: exceptions.length,
    open_exceptions: open,
    exceptions_by_category: byCategory,
    gave_up: s.giveUps.length,
    differences,
  };
  assertControlTotals(summary);

  const gaveUp = s.giveUps.map((g) => ({
    rule: definition.rules[g.rule].id,
    group: g.group,
    currency: g.currency,
    reason: g.reason,
    a: ids(s.a, g.a),
    b: ids(s.b, g.b),
    combinations: g.combinations,
  }));
  return { matches, exceptions, gave_up: gaveUp, summary };
}

/** A match's key: the bucket key, unless a subset-sum rule grouped records of several keys (then all, sorted). */
function groupKey(s: MatchState, g: number, k: number): string {
  const { itemsA, itemsB, aStart, bStart } = s.groups;
  const keys = new Set<string>();
  for (let p = aStart[g]; p < aStart[g + 1]; p++) keys.add(s.a[itemsA[p]].key);
  for (let p = bStart[g]; p < bStart[g + 1]; p++) keys.add(s.b[itemsB[p]].key);
  return keys.size === 1 ? s.buckets.key[k] : [...keys].sort().join(' + ');
}

function sumOfSide(records: readonly NormalisedRecord[], currency: string): Minor {
  const acc = new MinorSum();
  for (const r of records) if (r.currency === currency) acc.add(r.amountMinor);
  return acc.value();
}
