// Raw records (strings as the connectors read them) -> comparable records: canonical field names, transformed values,
// a composite key, the amount as integer minor units and an ISO date. A definition is compiled once per side; the
// per-record path does no Decimal arithmetic unless a transformation needs it (round, scale, debit and credit both set).
import type Decimal from 'decimal.js';
import { Dec, currencyDecimals, type RoundingMode } from '../money';
import type { ReconciliationDefinition, Side, SideDefinition, Transformation } from './definition';
import { roundDecimalText } from './round-text';

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

const PLAIN_DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER);
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CURRENCY = /^[A-Z]{3}$/;

function isPlainDecimal(s: string): boolean {
  const m = PLAIN_DECIMAL.exec(s);
  return m !== null && (m[2].length > 0 || (m[3] ?? '').length > 0);
}

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

function negateDecimal(s: string): string {
  const t = s.trim();
  if (t.startsWith('-')) return t.slice(1);
  if (t.startsWith('+')) return `-${t.slice(1)}`;
  return `-${t}`;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function validDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return d <= (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]);
}

interface DateFormat {
  format: string;
  re: RegExp;
  slots: ('y' | 'M' | 'd' | 'H' | 'm' | 's')[];
}

const DATE_TOKENS: [string, string, DateFormat['slots'][number]][] = [
  ['yyyy', '(\\d{4})', 'y'],
  ['MM', '(\\d{2})', 'M'],
  ['M', '(\\d{1,2})', 'M'],
  ['dd', '(\\d{2})', 'd'],
  ['d', '(\\d{1,2})', 'd'],
  ['HH', '(\\d{2})', 'H'],
  ['mm', '(\\d{2})', 'm'],
  ['ss', '(\\d{2})', 's'],
];

/** Compiles `dd.MM.yyyy` and the like; a format without year, month and day is a definition error. */
export function compileDateFormat(format: string): DateFormat {
  let re = '^';
  const slots: DateFormat['slots'] = [];
  for (let i = 0; i < format.length;) {
    const token = DATE_TOKENS.find(([t]) => format.startsWith(t, i));
    if (token) {
      re += token[1];
      slots.push(token[2]);
      i += token[0].length;
    } else {
      re += format[i].replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
      i++;
    }
  }
  for (const need of ['y', 'M', 'd'] as const)
    if (slots.filter((s) => s === need).length !== 1)
      throw new Error(`date format ${JSON.stringify(format)} needs exactly one yyyy, one MM (or M) and one dd (or d)`);
  return { format, re: new RegExp(`${re}$`), slots };
}

/** The ISO date for `value` under the first matching format, or undefined. */
export function parseDateWith(formats: readonly DateFormat[], value: string): string | undefined {
  const v = value.trim();
  for (const f of formats) {
    const m = f.re.exec(v);
    if (m === null) continue;
    let y = 0,
      mo = 0,
      d = 0,
      ok = true;
    for (let i = 0; i < f.slots.length; i++) {
      const n = Number(m[i + 1]);
      switch (f.slots[i]) {
        case 'y':
          y = n;
          break;
        case 'M':
          mo = n;
          break;
        case 'd':
          d = n;
          break;
        case 'H':
          ok &&= n <= 23;
          break;
        default:
          ok &&= n <= 59;
      }
    }
    if (ok && validDate(y, mo, d))
      return `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  }
  return undefined;
}

function isIsoDate(s: string): boolean {
  const m = ISO_DATE.exec(s);
  return m !== null && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

type Fields = Record<string, string>;
/** A compiled transformation: returns a problem (and the field it concerns) or undefined. */
type Step = (f: Fields) => readonly [string, string] | undefined;

function present(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== '';
}

function compileStep(t: Transformation): Step {
  switch (t.op) {
    case 'trim':
    case 'upper':
    case 'lower': {
      const { field, op } = t;
      return (f) => {
        const v = f[field];
        if (v !== undefined) f[field] = op === 'trim' ? v.trim() : op === 'upper' ? v.toUpperCase() : v.toLowerCase();
        return undefined;
      };
    }
    case 'strip_leading_zeros': {
      const { field } = t;
      return (f) => {
        const v = f[field];
        if (v !== undefined && v.length > 1 && v.charCodeAt(0) === 48) f[field] = v.replace(/^0+(?=.)/, '');
        return undefined;
      };
    }
    case 'default': {
      const { field, value } = t;
      return (f) => {
        if (!present(f[field])) f[field] = value;
        return undefined;
      };
    }
    case 'decimal_format': {
      const { field, decimal_separator: dec, group_separator: group, parentheses_negative, trailing_minus } = t;
      return (f) => {
        const raw = f[field];
        if (!present(raw)) return undefined;
        let v = raw.trim();
        let negative = false;
        if (parentheses_negative && v.startsWith('(') && v.endsWith(')')) {
          negative = true;
          v = v.slice(1, -1).trim();
        } else if (trailing_minus && v.endsWith('-')) {
          negative = true;
          v = v.slice(0, -1).trim();
        }
        if (group !== '') v = v.split(group).join('');
        if (dec === ',') {
          if (v.includes('.')) return [field, `${JSON.stringify(raw)} holds '.' but the decimal separator is ','`];
          v = v.replace(',', '.');
        }
        if (!isPlainDecimal(v)) return [field, `not a decimal amount: ${JSON.stringify(raw)}`];
        f[field] = negative ? negateDecimal(v) : v;
        return undefined;
      };
    }
    case 'round': {
      const { field, places, mode } = t;
      const rounding = ROUNDING[mode];
      return (f) => {
        const raw = f[field];
        if (!present(raw)) return undefined;
        const v = raw.trim();
        if (!isPlainDecimal(v)) return [field, `not a decimal amount: ${JSON.stringify(raw)}`];
        const dot = v.indexOf('.');
        // No more decimals than `places`: rounding cannot change the value, so skip the Decimal round trip.
        if (dot >= 0 && v.length - dot - 1 > places)
          f[field] = roundDecimalText(v, places, mode) ?? new Dec(v).toDecimalPlaces(places, rounding).toFixed();
        return undefined;
      };
    }
    case 'scale': {
      const { field } = t;
      const factor = new Dec(t.factor);
      return (f) => {
        const v = f[field];
        if (!present(v)) return undefined;
        if (!isPlainDecimal(v.trim())) return [field, `not a decimal amount: ${JSON.stringify(v)}`];
        f[field] = new Dec(v.trim()).times(factor).toFixed();
        return undefined;
      };
    }
    case 'negate': {
      const { field } = t;
      return (f) => {
        const v = f[field];
        if (!present(v)) return undefined;
        if (!isPlainDecimal(v.trim())) return [field, `not a decimal amount: ${JSON.stringify(v)}`];
        f[field] = negateDecimal(v);
        return undefined;
      };
    }
    case 'debit_credit': {
      const { debit, credit, into, sign } = t;
      return (f) => {
        const d = f[debit];
        const c = f[credit];
        const hasD = present(d);
        const hasC = present(c);
        if (!hasD && !hasC) return [debit, `both ${debit} and ${credit} are empty`];
        if (hasD && !isPlainDecimal(d.trim())) return [debit, `not a decimal amount: ${JSON.stringify(d)}`];
        if (hasC && !isPlainDecimal(c.trim())) return [credit, `not a decimal amount: ${JSON.stringify(c)}`];
        let value: string;
        if (hasD && hasC) value = new Dec(d.trim()).minus(new Dec(c.trim())).toFixed();
        else value = hasD ? d.trim() : negateDecimal(c);
        f[into] = sign === 'debit_positive' ? value : negateDecimal(value);
        return undefined;
      };
    }
    case 'date': {
      const { field } = t;
      const formats = t.formats.map(compileDateFormat);
      return (f) => {
        const v = f[field];
        if (!present(v)) return undefined;
        const iso = parseDateWith(formats, v);
        if (iso === undefined)
          return [field, `${JSON.stringify(v)} matches none of the formats ${t.formats.join(', ')}`];
        f[field] = iso;
        return undefined;
      };
    }
    case 'lookup': {
      const { field, unmapped } = t;
      const into = t.into ?? field;
      // A Map, not the plain object: a value like "constructor" must not find Object.prototype members.
      const map = new Map(Object.entries(t.map));
      return (f) => {
        const v = f[field];
        if (v === undefined) return undefined;
        const mapped = map.get(v);
        if (mapped !== undefined) f[into] = mapped;
        else if (unmapped === 'error') return [field, `${JSON.stringify(v)} is not in the lookup map`];
        else f[into] = v;
        return undefined;
      };
    }
  }
}

const ROUNDING: Record<RoundingMode, Decimal.Rounding> = {
  half_even: Dec.ROUND_HALF_EVEN,
  half_up: Dec.ROUND_HALF_UP,
  half_down: Dec.ROUND_HALF_DOWN,
  down: Dec.ROUND_DOWN,
  up: Dec.ROUND_UP,
  floor: Dec.ROUND_FLOOR,
  ceiling: Dec.ROUND_CEIL,
};

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
