// The one-to-one rules (exact, tolerance, date window) and the aggregated rule, each over the buckets of one
// partition. A record matched by an earlier rule is never offered to a later one.
import type { MatchRule } from './definition';
import {
  NO_DAY,
  addGroup,
  collect,
  isDuplicateKey,
  pair,
  singlePair,
  suggest,
  sumOf,
  type MatchState,
} from './match-state';
import { settleCluster, windowClusters } from './match-ambiguity';
import { absMinor, limitToMinor, percentToFraction, subMinor, withinFraction } from './minor';
import { currencyScale } from './normalise';
import { ruleMask } from './match-where';

// ---- candidate sets ---------------------------------------------------------------------------------------------

/**
 * Calls `settle(as, bs)` for every set of records rule r may pair: the free records of a bucket (same key and
 * currency) that the rule's where_a / where_b let it take or, when the rule has `match_on`, those of them that also
 * agree on every match_on field. A record with a match_on field missing or empty takes no part: null is never equal
 * to null. Without match_on, a bucket holding one record per side goes to `single` instead (the hot path, no
 * allocation).
 */
function forEachCandidateSet(
  s: MatchState,
  r: number,
  rule: { expect_unique?: boolean; match_on?: string[] },
  single: (i: number, j: number, k: number) => void,
  settle: (as: number[], bs: number[], k: number) => void,
): void {
  const ua: number[] = [];
  const ub: number[] = [];
  const on = rule.match_on;
  const maskA = ruleMask(s, r, 'a');
  const maskB = ruleMask(s, r, 'b');
  const valueOf = (fields: Record<string, string>): string | undefined => {
    let v = '';
    for (const f of on as string[]) {
      const x = fields[f];
      if (x === undefined || x.trim() === '') return undefined;
      v += `${x}\u001f`;
    }
    return v;
  };
  for (let k = 0; k < s.buckets.count; k++) {
    if (s.leftA[k] === 0 || s.leftB[k] === 0) continue;
    if (rule.expect_unique && isDuplicateKey(s, k)) continue;
    if (on === undefined) {
      const one = singlePair(s, k);
      if (one !== undefined) {
        if ((maskA === undefined || maskA[one[0]] === 1) && (maskB === undefined || maskB[one[1]] === 1))
          single(one[0], one[1], k);
        continue;
      }
      collect(s, k, ua, ub, maskA, maskB);
      settle(ua, ub, k);
      continue;
    }
    collect(s, k, ua, ub, maskA, maskB);
    const byValue = new Map<string, [number[], number[]]>();
    for (const i of ua) {
      const v = valueOf(s.a[i].fields);
      if (v === undefined) continue;
      const c = byValue.get(v);
      if (c === undefined) byValue.set(v, [[i], []]);
      else c[0].push(i);
    }
    for (const j of ub) {
      const v = valueOf(s.b[j].fields);
      if (v !== undefined) byValue.get(v)?.[1].push(j);
    }
    for (const [as, bs] of byValue.values()) if (bs.length > 0) settle(as, bs, k);
  }
}

// ---- exact ------------------------------------------------------------------------------------------------------

export function runExact(s: MatchState, r: number, rule: Extract<MatchRule, { type: 'exact' }>): void {
  const { amountA, amountB, dayA, dayB } = s;
  const cmpDate = rule.compare_date;
  const valueOf = (amount: number, day: number) => (cmpDate ? `${amount}|${day}` : amount);
  forEachCandidateSet(
    s,
    r,
    rule,
    (i, j) => {
      if (amountA[i] === amountB[j] && (!cmpDate || dayA[i] === dayB[j])) pair(s, r, i, j);
    },
    (ua, ub) => {
      // Records with one value (amount, and date when compared) are each other's candidates: a value held once on
      // each side pairs, a value held several times pairs only when the records are alike (see
      // match-ambiguity.ts), else it is proposed.
      const byValue = new Map<number | string, [number[], number[]]>();
      for (const j of ub) {
        const v = valueOf(amountB[j], dayB[j]);
        const c = byValue.get(v);
        if (c === undefined) byValue.set(v, [[], [j]]);
        else c[1].push(j);
      }
      for (const i of ua) byValue.get(valueOf(amountA[i], dayA[i]))?.[0].push(i);
      for (const [as, bs] of byValue.values()) if (as.length > 0) settleCluster(s, r, as, bs, () => true);
    },
  );
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

export function runTolerance(s: MatchState, r: number, rule: Extract<MatchRule, { type: 'tolerance' }>): void {
  const t = compileTolerance(rule);
  const { amountA, amountB, dayA, dayB } = s;
  const maxDays = rule.max_days_apart;
  const datesOk = (i: number, j: number): boolean =>
    maxDays === undefined || (dayA[i] !== NO_DAY && dayB[j] !== NO_DAY && Math.abs(dayA[i] - dayB[j]) <= maxDays);
  forEachCandidateSet(
    s,
    r,
    rule,
    (i, j, k) => {
      if (within(s, t, s.buckets.currency[k], amountA[i], amountB[j]) && datesOk(i, j)) pair(s, r, i, j);
    },
    (ua, ub, k) => {
      const currency = s.buckets.currency[k];
      // Each a (in input order) takes the nearest free b by amount that is within the tolerance (and the date
      // limit), searching down and up from its amount: once a candidate's amount is outside the tolerance, farther ones
      // are too. A tie is proposed, not broken (see below). Not detected: one b equally near to two a's (the first
      // a in input order takes it).
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
        let down = -1;
        for (let p = findRoot(left, lo) - 1; p >= 0; p = findRoot(left, p) - 1) {
          if (!within(s, t, currency, x, amountB[sorted[p]])) break;
          if (datesOk(i, sorted[p])) {
            down = p;
            break;
          }
        }
        let up = -1;
        for (let p = findRoot(right, lo); p < n; p = findRoot(right, p + 1)) {
          if (!within(s, t, currency, x, amountB[sorted[p]])) break;
          if (datesOk(i, sorted[p])) {
            up = p;
            break;
          }
        }
        if (down < 0 && up < 0) continue;
        const dDown = down < 0 ? Infinity : x - amountB[sorted[down]];
        const dUp = up < 0 ? Infinity : amountB[sorted[up]] - x;
        const best = dDown < dUp ? down : up;
        // Equally good candidates: as near below as above, or another of the best amount on another date (one of
        // the same amount and date is the same candidate to the books). The data cannot decide: propose.
        const rivals: number[] = [];
        if (dDown === dUp) rivals.push(down);
        const bestAmount = amountB[sorted[best]];
        const bestDay = dayB[sorted[best]];
        const step = best === up ? (p: number) => findRoot(right, p + 1) : (p: number) => findRoot(left, p) - 1;
        for (let p = step(best); p >= 0 && p < n && amountB[sorted[p]] === bestAmount; p = step(p))
          if (datesOk(i, sorted[p]) && dayB[sorted[p]] !== bestDay) rivals.push(p);
        const take = (p: number) => {
          right[p] = p + 1;
          left[p + 1] = p;
        };
        if (rivals.length > 0) {
          const slots = [best, ...rivals];
          const bs = slots.map((p) => sorted[p]);
          suggest(
            s,
            r,
            [i],
            bs,
            bs.map((j) => [[i], [j]]),
          );
          for (const p of slots) take(p);
          continue;
        }
        pair(s, r, i, sorted[best]);
        take(best);
      }
    },
  );
}

// ---- aggregated -------------------------------------------------------------------------------------------------

export function runAggregated(s: MatchState, r: number, rule: Extract<MatchRule, { type: 'aggregated' }>): void {
  const t = { absolute: new Map<string, number>() };
  const ua: number[] = [];
  const ub: number[] = [];
  const maskA = ruleMask(s, r, 'a');
  const maskB = ruleMask(s, r, 'b');
  for (let k = 0; k < s.buckets.count; k++) {
    if (s.leftA[k] === 0 || s.leftB[k] === 0) continue;
    if (s.leftA[k] === 1 && s.leftB[k] === 1) continue;
    collect(s, k, ua, ub, maskA, maskB);
    const na = ua.length;
    const nb = ub.length;
    // One record against one is not an aggregate (the exact rule's business; matching it here, dates ignored,
    // would hide timing differences).
    if (na === 0 || nb === 0 || (na === 1 && nb === 1)) continue;
    if (rule.cardinality === 'many_to_one' && na > 1 && nb > 1) continue;
    const sumA = sumOf(s.amountA, ua);
    const sumB = sumOf(s.amountB, ub);
    const limit = absoluteLimit(s, t, rule.absolute, s.buckets.currency[k]);
    if (absMinor(subMinor(sumA, sumB)) <= limit) addGroup(s, r, ua.slice(), ub.slice(), sumA, sumB);
  }
}

// ---- date window ------------------------------------------------------------------------------------------------

export function runDateWindow(s: MatchState, r: number, rule: Extract<MatchRule, { type: 'date_window' }>): void {
  const { amountA, amountB, dayA, dayB } = s;
  const days = rule.days;
  forEachCandidateSet(
    s,
    r,
    rule,
    (i, j) => {
      if (amountA[i] === amountB[j] && dayA[i] !== NO_DAY && dayB[j] !== NO_DAY && Math.abs(dayA[i] - dayB[j]) <= days)
        pair(s, r, i, j);
    },
    (ua, ub) => {
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
      // Per amount, both sides in date order, cut into clusters of records within the window of each other; a
      // cluster pairs only when one pairing explains it (see match-ambiguity.ts), else it is proposed.
      for (const [amount, as] of aByAmount) {
        const bs = byAmount.get(amount) as number[];
        as.sort((x, y) => dayA[x] - dayA[y] || x - y);
        bs.sort((x, y) => dayB[x] - dayB[y] || x - y);
        for (const [ca, cb] of windowClusters(as, dayA, bs, dayB, days))
          settleCluster(s, r, ca, cb, (i, j) => Math.abs(dayA[i] - dayB[j]) <= days);
      }
    },
  );
}
