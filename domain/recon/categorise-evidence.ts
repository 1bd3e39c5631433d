// The evidence that two leftover records (side a record i, side b record j) belong together, one category per pass
// of the categoriser (see categorise.ts for the precedence): 0 same amount (timing_difference, or amounts_agree),
// 1 opposite amount (sign_reversal), 2 swapped digits (transposition), 3 within the rounding tolerance (rounding).
import type { Category, Evidence } from './categories';
import { formatMinor } from './minor';
import type { MatchState } from './match-state';

/** Whether x and y (minor units, same scale) differ by two adjacent digits swapped; returns the digits or undefined. */
export function transposition(
  x: number,
  y: number,
  scale: number,
): { digitsA: string; digitsB: string; position: number } | undefined {
  if (x === y || x < 0 !== y < 0) return undefined;
  // Same sign and both safe: the difference is exact.
  if ((x - y) % 9 !== 0) return undefined;
  const sx = Math.abs(x)
    .toString()
    .padStart(scale + 1, '0');
  const sy = Math.abs(y)
    .toString()
    .padStart(scale + 1, '0');
  if (sx.length !== sy.length) return undefined;
  let p = 0;
  while (sx[p] === sy[p]) p++;
  if (p + 1 >= sx.length || sx[p] !== sy[p + 1] || sx[p + 1] !== sy[p] || sx.slice(p + 2) !== sy.slice(p + 2))
    return undefined;
  return { digitsA: sx, digitsB: sy, position: p };
}

function monthIndex(iso: string): number {
  return Number(iso.slice(0, 4)) * 12 + Number(iso.slice(5, 7)) - 1;
}

export interface PairLimits {
  scale: number;
  /** categorisation.timing_window_days */
  window: number;
  /** The rounding tolerance in minor units. */
  roundingLimit: number;
}

/** The category and evidence the pair shows in this pass, or undefined when it shows none. */
export function pairEvidence(
  s: MatchState,
  pass: number,
  i: number,
  j: number,
  { scale, window, roundingLimit }: PairLimits,
): { category: Category; evidence: Evidence } | undefined {
  const { amountA, amountB, dayA, dayB, a: recA, b: recB } = s;
  const x = amountA[i];
  const y = amountB[j];
  if (pass === 0) {
    if (x !== y) return undefined;
    const dA = dayA[i];
    const dB = dayB[j];
    if (recA[i].date !== null && recB[j].date !== null && dA !== dB) {
      if (Math.abs(dB - dA) > window) return undefined;
      const da = recA[i].date as string;
      const db = recB[j].date as string;
      return {
        category: 'timing_difference',
        evidence: {
          date_a: da,
          date_b: db,
          days_apart: dB - dA,
          period_a: da.slice(0, 7),
          period_b: db.slice(0, 7),
          periods_apart: monthIndex(db) - monthIndex(da),
        },
      };
    }
    return { category: 'amount_mismatch', evidence: { difference: formatMinor(0, scale), amounts_agree: true } };
  }
  if (pass === 1) {
    if (x !== -y || x === 0) return undefined;
    return { category: 'sign_reversal', evidence: { sum: formatMinor(0, scale) } };
  }
  if (pass === 2) {
    const t = transposition(x, y, scale);
    if (t === undefined) return undefined;
    return {
      category: 'transposition',
      evidence: {
        difference: formatMinor(x - y, scale),
        divisible_by_9: true,
        digits_a: t.digitsA,
        digits_b: t.digitsB,
        swapped_at: t.position,
      },
    };
  }
  const d = x - y;
  if (d === 0 || !Number.isSafeInteger(d) || Math.abs(d) > roundingLimit) return undefined;
  return {
    category: 'rounding',
    evidence: { difference: formatMinor(d, scale), rounding_tolerance: formatMinor(roundingLimit, scale) },
  };
}

/**
 * The records a sum_window rule could not settle, by side (record index -> rule id): the single records on the rule's
 * one side whose search it gave up (too many candidates, out of budget, or a tangle of competing subsets). Such a
 * record may be the sum of several on the other side; an equal, opposite or near amount there does not decide that
 * the two are one item, so the categoriser pairs it with none and it stays on its side.
 */
export function maybeSums(s: MatchState): [Map<number, string>, Map<number, string>] {
  const out: [Map<number, string>, Map<number, string>] = [new Map(), new Map()];
  for (const g of s.giveUps) {
    const rule = s.definition.rules[g.rule];
    if (rule.type !== 'sum_window') continue;
    const [side, records] = rule.one_side === 'a' ? [out[0], g.a] : [out[1], g.b];
    for (const x of records) side.set(x, rule.id);
  }
  return out;
}
