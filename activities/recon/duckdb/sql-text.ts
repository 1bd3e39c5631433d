// SQL text for compile-side.ts: literals, JavaScript's trim and decimal checks as RE2 expressions, the exact
// DECIMAL(18,6) reading and rounding, and CASEs over the currencies of a run. Strings only; nothing runs here.
/**
 * Amounts are read as DECIMAL(18,6): 64-bit, which DuckDB reads and computes on ~20-100x faster than its 128-bit
 * DECIMAL(38,x) (measured: 200k casts from text 54 ms vs 8 s). A value with more digits (beyond trailing zeros) is
 * never rounded: it is marked out of range and the whole reconciliation falls back to the TypeScript plane.
 */
export const SQL_SCALE = 6;
/** Digits before the decimal point that DECIMAL(18,6) holds. */
export const SQL_INT_DIGITS = 18 - SQL_SCALE;
export const DEC = `DECIMAL(18,${SQL_SCALE})`;
/** Starts the text of a problem that is the data plane's limit, not bad input. */
export const OUT_OF_RANGE = 'out of the DuckDB range: ';
/** Separates the field from the text in a problem value. */
export const PROBLEM_SEP = '\u001f';

export class NotCompilable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotCompilable';
  }
}

/** The whitespace String.prototype.trim removes, as an RE2 character class body. */
export const JS_WHITESPACE =
  '\\t\\n\\x{0b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}';

export const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
export const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;
/**
 * JavaScript's trim. Only values with whitespace at an end pay for the replacement (measured on 200k values, one
 * thread: this test 131 ms on clean values where a code-point test of both ends took 186 ms).
 */
export const trimJs = (x: string) =>
  `CASE WHEN regexp_matches(${x}, '^[${JS_WHITESPACE}]|[${JS_WHITESPACE}]$') THEN regexp_replace(${x}, '^[${JS_WHITESPACE}]+|[${JS_WHITESPACE}]+$', '', 'g') ELSE ${x} END`;
export const present = (x: string) => `(${x} IS NOT NULL AND ${trimJs(x)} <> '')`;
export const quoted = (x: string) => `('"' || ${x} || '"')`;
/** A plain decimal (sign, digits, at most one point, at least one digit), already trimmed. */
export const plain = (t: string) => `regexp_full_match(${t}, '[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)')`;
/**
 * A trimmed plain decimal (checked before) as DECIMAL(18,6): TRY_CAST, which gives NULL past 12 digits before the
 * point, only where no more than 6 digits follow it (beyond trailing zeros), so that it never rounds.
 */
export const parse = (t: string) =>
  `CASE WHEN position('.' IN ${t}) = 0 OR length(rtrim(${t}, '0')) - position('.' IN ${t}) <= ${SQL_SCALE} THEN TRY_CAST(${t} AS ${DEC}) END`;
export const notDecimal = (raw: string) => `'not a decimal amount: ' || ${quoted(raw)}`;
export const range = (x: string) =>
  `${lit(OUT_OF_RANGE)} || ${x} || ' has more than ${SQL_INT_DIGITS} digits before or ${SQL_SCALE} after the decimal point'`;

/** A CASE over the currencies seen: the value of `f(currency)` for each, NULL for others. */
export function perCurrency(col: string, currencies: readonly string[], f: (c: string) => string): string {
  if (currencies.length === 0) return 'NULL';
  return `CASE ${col} ${currencies.map((c) => `WHEN ${lit(c)} THEN ${f(c)}`).join(' ')} END`;
}

/**
 * Exact rounding of a DECIMAL(18,6) to `places` in one of the definition's modes, without DOUBLE: the integer part
 * is kept and only the fraction is scaled (x * 10^places could overflow 18 digits), so every step stays 64-bit.
 */
export function roundSql(x: string, places: number, mode: string): string {
  const up = `CAST(1${'0'.repeat(places)} AS DECIMAL(18,0))`;
  const down = places === 0 ? '1' : `CAST('0.${'0'.repeat(places - 1)}1' AS DECIMAL(18,${places}))`;
  const t = `trunc(${x})`;
  const m = `((${x} - ${t}) * ${up})`;
  const f = `floor(${m})`;
  const r = `(${m} - ${f})`;
  const neg = `(${x} < 0)`;
  // floor(x * 10^places) is t * 10^places + f: odd when f is (places > 0) or when t + f is (places = 0).
  const odd = places === 0 ? `(CAST(${t} + ${f} AS BIGINT) % 2 <> 0)` : `(CAST(${f} AS BIGINT) % 2 <> 0)`;
  const bump: Record<string, string> = {
    half_even: `CASE WHEN ${r} > 0.5 THEN 1 WHEN ${r} < 0.5 THEN 0 WHEN ${odd} THEN 1 ELSE 0 END`,
    half_up: `CASE WHEN ${neg} THEN (CASE WHEN ${r} > 0.5 THEN 1 ELSE 0 END) WHEN ${r} >= 0.5 THEN 1 ELSE 0 END`,
    half_down: `CASE WHEN ${neg} THEN (CASE WHEN ${r} >= 0.5 THEN 1 ELSE 0 END) WHEN ${r} > 0.5 THEN 1 ELSE 0 END`,
    down: `CASE WHEN ${neg} AND ${r} > 0 THEN 1 ELSE 0 END`,
    up: `CASE WHEN NOT ${neg} AND ${r} > 0 THEN 1 ELSE 0 END`,
    floor: '0',
    ceiling: `CASE WHEN ${r} > 0 THEN 1 ELSE 0 END`,
  };
  if (!(mode in bump)) throw new NotCompilable(`rounding mode ${mode}`);
  return `TRY_CAST(${t} + CAST(${f} + ${bump[mode]} AS DECIMAL(18,0)) * ${down} AS ${DEC})`;
}

/** Negates a plain decimal written as text, as transform.ts does (a sign flipped, not a number computed). */
export const negateText = (t: string) =>
  `CASE WHEN starts_with(${t}, '-') THEN substring(${t}, 2) WHEN starts_with(${t}, '+') THEN '-' || substring(${t}, 2) ELSE '-' || ${t} END`;
