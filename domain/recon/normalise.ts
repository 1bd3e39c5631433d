// Raw records (strings as the connectors read them) -> comparable records: canonical field names, transformed values,
// a composite key, the amount as integer minor units and an ISO date. A definition is compiled once per side; the
// per-record path does no Decimal arithmetic unless a transformation needs it (round, scale, debit and credit both set;
// the transformations are in transform.ts).
import { currencyDecimals } from '../money';
import type { ReconciliationDefinition, Side, SideDefinition } from './definition';
import { PLAIN_DECIMAL, compileStep, isPlainDecimal, present, validDate, type Fields } from './transform';

export { compileDateFormat, parseDateWith } from './transform';
/** What a connector hands over. Decimals arrive as strings; a JS number is accepted only when it is a safe integer. */
export type RawValue = string | number | bigint | boolean | null | undefined;
export interface RawRecord {
  /** 1-based line (files) or row number (queries) within the source: the record's id unless the side has an id_field. */
  line: number;
  values: Readonly<Record<string, RawValue>>;
}

export interface NormalisedRecord {
  /** Stable across runs: `<side name>:<line>` or `<side name>:<id_field value>`. */
  id: string;
  side: Side;
  line: number;
  /** Key field values joined by U+001F (unit separator); the same on both sides for the same business key. */
  key: string;
  /** Every field after mappings and transformations, canonical names. */
  fields: Record<string, string>;
  /**
   * The amount in integer minor units of `currency` (see `currencyScale`). Always a safe integer: larger magnitudes
   * are refused when normalising, so sums and differences can be checked exactly (see control-totals).
   */
  amountMinor: number;
  currency: string;
  /** ISO `yyyy-MM-dd`, or null when the side has no date_field. */
  date: string | null;
}

/** Joins key fields; refused inside key values so two different keys can never collide. */
export const KEY_SEPARATOR = '\u001f';

export class NormalisationError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly field: string,
    readonly problem: string,
    readonly recordId?: string,
  ) {
    super(
      `${source} line ${line}${recordId ? ` (record ${recordId})` : ''}, field ${JSON.stringify(field)}: ${problem}`,
    );
    this.name = 'NormalisationError';
  }
}

/** Minor-unit decimals used for a currency in this reconciliation (definition override, else ISO 4217). */
export function currencyScale(definition: ReconciliationDefinition, currency: string): number {
  return definition.currency_decimals[currency] ?? currencyDecimals(currency);
}

const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER);
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CURRENCY = /^[A-Z]{3}$/;

/**
 * A plain decimal string to integer minor units at `scale`, without Decimal. Returns a string describing the problem
 * instead of throwing, so the caller can name the record and field.
 */
export function decimalToMinor(input: string, scale: number): number | string {
  const m = PLAIN_DECIMAL.exec(input.trim());
  if (m === null) return `not a decimal amount: ${JSON.stringify(input)}`;
  const int = m[2];
  let frac = m[3] ?? '';
  if (int.length === 0 && frac.length === 0) return `not a decimal amount: ${JSON.stringify(input)}`;
  if (frac.length > scale) {
    // Trailing zeros beyond the scale are exact (a numeric(18,4) column holding 12.3400); anything else is not.
    const extra = frac.slice(scale);
    if (!/^0*$/.test(extra))
      return `${input.trim()} has more than ${scale} decimal places: add a round transformation with an explicit mode`;
    frac = frac.slice(0, scale);
  } else if (frac.length < scale) frac = frac.padEnd(scale, '0');
  let digits = int + frac;
  let start = 0;
  while (start < digits.length - 1 && digits.charCodeAt(start) === 48) start++;
  if (start > 0) digits = digits.slice(start);
  if (digits.length > MAX_SAFE_DIGITS.length || (digits.length === MAX_SAFE_DIGITS.length && digits > MAX_SAFE_DIGITS))
    return `${input.trim()} is beyond the exact range of minor units (|amount| <= ${Number.MAX_SAFE_INTEGER} minor units at ${scale} decimals)`;
  const n = Number(digits);
  return m[1] === '-' && n !== 0 ? -n : n;
}

function isIsoDate(s: string): boolean {
  const m = ISO_DATE.exec(s);
  return m !== null && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

function fail(source: string, line: number, field: string, problem: string, id?: string): never {
  throw new NormalisationError(source, line, field, problem, id);
}

export interface NormaliserOptions {
  /** Names the source in errors (a file name, `postgres:ledger`); defaults to the side's name. */
  source?: string;
}

export type Normaliser = (raw: RawRecord) => NormalisedRecord;

/** Compiles one side of a definition into a function applied to each raw record (connectors call it while streaming). */
export function createNormaliser(
  definition: ReconciliationDefinition,
  side: Side,
  options: NormaliserOptions = {},
): Normaliser {
  const def: SideDefinition = definition[side];
  const label = def.name ?? side;
  const source = options.source ?? label;
  const rename = new Map(def.mappings.map((m) => [m.from, m.to]));
  const steps = def.transformations.map(compileStep);
  const keyFields = def.key_fields;
  const [amountField, ...otherValues] = def.value_fields;
  const dateField = def.date_field;
  const currencyField = def.currency_field;
  const fixedCurrency = def.currency;
  const idField = def.id_field;
  const scales = new Map<string, number>();

  return (raw) => {
    const line = raw.line;
    const fields: Fields = {};
    const values = raw.values;
    for (const name in values) {
      const v = values[name];
      if (v === null || v === undefined) continue;
      // Assigning it would change the object's prototype instead of storing a field.
      if (name === '__proto__') fail(source, line, name, 'a field may not be called __proto__');
      let s: string;
      if (typeof v === 'string') s = v;
      else if (typeof v === 'number') {
        // A JS number with a fraction is a float that has already lost the exact decimal: refuse it.
        if (!Number.isSafeInteger(v))
          fail(source, line, name, `${v} is a non-integer or unsafe JS number; deliver decimals as strings`);
        s = String(v);
      } else s = String(v);
      fields[rename.get(name) ?? name] = s;
    }
    for (let i = 0; i < steps.length; i++) {
      const problem = steps[i](fields);
      if (problem !== undefined) fail(source, line, problem[0], problem[1]);
    }

    let id: string;
    if (idField !== undefined) {
      const v = fields[idField];
      if (!present(v)) return fail(source, line, idField, 'id field is empty');
      id = `${label}:${v.trim()}`;
    } else id = `${label}:${line}`;

    let key = '';
    for (let i = 0; i < keyFields.length; i++) {
      const v = fields[keyFields[i]];
      if (v === undefined || v === '') fail(source, line, keyFields[i], 'key field is missing or empty', id);
      if (v.includes(KEY_SEPARATOR))
        fail(source, line, keyFields[i], 'key field holds the control character U+001F', id);
      key = i === 0 ? v : key + KEY_SEPARATOR + v;
    }

    const c = currencyField !== undefined ? fields[currencyField] : undefined;
    const currency = (present(c) ? c : (fixedCurrency ?? '')).trim().toUpperCase();
    if (!CURRENCY.test(currency))
      fail(
        source,
        line,
        currencyField ?? 'currency',
        `${JSON.stringify(c ?? '')} is not an ISO 4217 currency code`,
        id,
      );
    let scale = scales.get(currency);
    if (scale === undefined) {
      scale = currencyScale(definition, currency);
      scales.set(currency, scale);
    }

    const amountText = fields[amountField];
    if (amountText === undefined) fail(source, line, amountField, 'amount is missing', id);
    const amount = decimalToMinor(amountText, scale);
    if (typeof amount === 'string') return fail(source, line, amountField, amount, id);
    for (const name of otherValues) {
      const v = fields[name];
      if (v === undefined || !isPlainDecimal(v.trim()))
        fail(source, line, name, `not a decimal amount: ${JSON.stringify(v ?? '')}`, id);
    }

    let date: string | null = null;
    if (dateField !== undefined) {
      const d = fields[dateField];
      if (!present(d)) return fail(source, line, dateField, 'date is missing', id);
      if (!isIsoDate(d))
        fail(source, line, dateField, `${JSON.stringify(d)} is not an ISO date; add a date transformation`, id);
      date = d;
    }
    return { id, side, line, key, fields, amountMinor: amount, currency, date };
  };
}

/**
 * Normalises a batch. When the side has an id_field, two records with one id are refused: the result store and
 * the control totals count items by id, so a duplicate id would hide a record.
 */
export function normaliseRecords(
  raws: readonly RawRecord[],
  definition: ReconciliationDefinition,
  side: Side,
  options: NormaliserOptions = {},
): NormalisedRecord[] {
  const normalise = createNormaliser(definition, side, options);
  const out = new Array<NormalisedRecord>(raws.length);
  for (let i = 0; i < raws.length; i++) out[i] = normalise(raws[i]);
  if (definition[side].id_field !== undefined) {
    const seen = new Map<string, number>();
    for (const r of out) {
      const before = seen.get(r.id);
      if (before !== undefined)
        throw new NormalisationError(
          options.source ?? definition[side].name ?? side,
          r.line,
          definition[side].id_field as string,
          `id ${JSON.stringify(r.id)} also on line ${before}`,
          r.id,
        );
      seen.set(r.id, r.line);
    }
  }
  return out;
}
