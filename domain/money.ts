// Money is exact: decimal.js at the edges, scaled integers (bigint minor units) in hot loops. Never a float.
import Decimal from 'decimal.js';

/** A private Decimal constructor so nobody else's global configuration changes our rounding. */
export const Dec = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -40, toExpPos: 40 });
export type Dec = InstanceType<typeof Dec>;

export type RoundingMode = 'half_even' | 'half_up' | 'half_down' | 'down' | 'up' | 'floor' | 'ceiling';

const ROUNDING: Record<RoundingMode, Decimal.Rounding> = {
  half_even: Decimal.ROUND_HALF_EVEN,
  half_up: Decimal.ROUND_HALF_UP,
  half_down: Decimal.ROUND_HALF_DOWN,
  down: Decimal.ROUND_DOWN,
  up: Decimal.ROUND_UP,
  floor: Decimal.ROUND_FLOOR,
  ceiling: Decimal.ROUND_CEIL,
};

/** A decimal amount written as a plain string: optional sign, digits, optional fraction. No exponent, no grouping. */
const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

export class MoneyParseError extends Error {
  constructor(
    readonly input: string,
    readonly where?: string,
  ) {
    super(`not a decimal amount: ${JSON.stringify(input)}${where ? ` (${where})` : ''}`);
    this.name = 'MoneyParseError';
  }
}

/** Parses a decimal string exactly. Refuses floats-as-numbers, exponents, NaN, empty strings. */
export function parseDecimal(input: string | bigint, where?: string): Dec {
  if (typeof input === 'bigint') return new Dec(input.toString());
  const s = input.trim();
  if (!DECIMAL_RE.test(s)) throw new MoneyParseError(input, where);
  return new Dec(s);
}

/** Whether a JS number may stand for money without loss: only safe integers (e.g. counts, minor units). */
export function isSafeInteger(n: number): boolean {
  return Number.isSafeInteger(n);
}

export function round(value: Dec, places: number, mode: RoundingMode = 'half_even'): Dec {
  return value.toDecimalPlaces(places, ROUNDING[mode]);
}

/** Canonical string: fixed `places` decimals (default: as many as the value has). */
export function format(value: Dec, places?: number): string {
  return places === undefined ? value.toFixed() : value.toFixed(places, Decimal.ROUND_HALF_EVEN);
}

/**
 * Converts to integer minor units at `scale` decimals. Refuses a value that needs more decimals than `scale`
 * unless a rounding mode is given: silent truncation of money is a bug.
 */
export function toMinor(value: Dec, scale: number, mode?: RoundingMode): bigint {
  const shifted = value.times(new Dec(10).pow(scale));
  if (!shifted.isInteger()) {
    if (!mode) throw new RangeError(`${value.toFixed()} has more than ${scale} decimal places`);
    return BigInt(shifted.toDecimalPlaces(0, ROUNDING[mode]).toFixed(0));
  }
  return BigInt(shifted.toFixed(0));
}

export function fromMinor(minor: bigint, scale: number): Dec {
  return new Dec(minor.toString()).dividedBy(new Dec(10).pow(scale));
}

/** Minor units rendered as a fixed-point decimal string, without going through Decimal (hot loops). */
export function minorToString(minor: bigint, scale: number): string {
  const neg = minor < 0n;
  const digits = (neg ? -minor : minor).toString().padStart(scale + 1, '0');
  const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return neg ? `-${body}` : body;
}

/** Parses a decimal string straight into minor units at `scale`; refuses extra precision. */
export function parseMinor(input: string, scale: number, where?: string): bigint {
  return toMinor(parseDecimal(input, where), scale);
}

export function sum(values: Iterable<Dec>): Dec {
  let total = new Dec(0);
  for (const v of values) total = total.plus(v);
  return total;
}

/** A currency amount as carried in payloads: decimal string + ISO 4217 code. */
export interface MoneyJson {
  amount: string;
  currency: string;
}

/** Minor-unit decimals of common ISO 4217 currencies; others default to 2. */
const CURRENCY_DECIMALS: Record<string, number> = {
  BHD: 3,
  CLF: 4,
  IQD: 3,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  UGX: 0,
  VND: 0,
  XAF: 0,
  XOF: 0,
};

export function currencyDecimals(currency: string): number {
  return CURRENCY_DECIMALS[currency.toUpperCase()] ?? 2;
}
