// Exact integer arithmetic on minor units for the hot loops. Every record amount is a safe integer (normalise.ts
// refuses larger ones), so single amounts stay JS numbers; sums and differences can leave the safe range, and then
// fall back to bigint instead of silently losing units.
//
// Why checking the float result is enough: for integer operands the IEEE result of + or - is exact whenever the true
// result is at most 2^53 in magnitude, and rounds to at least 2^53 otherwise. So `Number.isSafeInteger(x + y)`
// is true exactly when x + y was computed without loss.
import { parseDecimal, toMinor } from '../money';

export type Minor = number | bigint;

export function addMinor(x: Minor, y: Minor): Minor {
  if (typeof x === 'number' && typeof y === 'number') {
    const s = x + y;
    if (Number.isSafeInteger(s)) return s;
  }
  return BigInt(x) + BigInt(y);
}

export function subMinor(x: Minor, y: Minor): Minor {
  if (typeof x === 'number' && typeof y === 'number') {
    const s = x - y;
    if (Number.isSafeInteger(s)) return s;
  }
  return BigInt(x) - BigInt(y);
}

export function absMinor(x: Minor): Minor {
  return x < 0 ? -x : x;
}

/** Accumulates many safe-integer amounts exactly: a number while it stays safe, spilling into bigint beyond. */
export class MinorSum {
  private lo = 0;
  private hi = 0n;

  add(v: number): void {
    const s = this.lo + v;
    if (Number.isSafeInteger(s)) this.lo = s;
    else {
      this.hi += BigInt(this.lo) + BigInt(v);
      this.lo = 0;
    }
  }

  /** Adds a sum that may already be a bigint. */
  addMinor(v: Minor): void {
    if (typeof v === 'number') this.add(v);
    else this.hi += v;
  }

  value(): Minor {
    if (this.hi === 0n) return this.lo;
    const total = this.hi + BigInt(this.lo);
    return total >= BigInt(Number.MIN_SAFE_INTEGER) && total <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(total) : total;
  }
}

/** Minor units as a fixed-point decimal string (`-12.30` at scale 2), without Decimal. */
export function formatMinor(x: Minor, scale: number): string {
  const neg = x < 0;
  const digits = (neg ? -x : x).toString().padStart(scale + 1, '0');
  const body =
    scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return neg ? `-${body}` : body;
}

/** A non-negative decimal limit from a definition (`"0.05"`) in minor units, rounded down: a limit never widens. */
export function limitToMinor(limit: string, scale: number): number {
  const m = toMinor(parseDecimal(limit), scale, 'floor');
  return m > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(m);
}

/** A percentage (`"0.5"` = 0.5 %) as the exact fraction num/den of 1. */
export function percentToFraction(percent: string): { num: bigint; den: bigint } {
  const d = parseDecimal(percent).dividedBy(100);
  const [num, den] = d.toFraction();
  return { num: BigInt(num.toFixed(0)), den: BigInt(den.toFixed(0)) };
}

/** |x - y| <= max(|x|, |y|) * num / den, exactly (bigint: only reached by tolerance rules, after exact matching). */
export function withinFraction(x: Minor, y: Minor, num: bigint, den: bigint): boolean {
  const bx = BigInt(x);
  const by = BigInt(y);
  const d = bx > by ? bx - by : by - bx;
  const ax = bx < 0n ? -bx : bx;
  const ay = by < 0n ? -by : by;
  return d * den <= (ax > ay ? ax : ay) * num;
}
