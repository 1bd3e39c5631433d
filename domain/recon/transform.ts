// The transformations of a definition's side, compiled once into steps applied to each record's fields (see
// normalise.ts, which runs them). Plain string work on the hot path; Decimal only where a step needs it (round,
// scale, debit and credit both set).
import type Decimal from 'decimal.js';
import { Dec, type RoundingMode } from '../money';
import type { Transformation } from './definition';
import { compileExtract } from './regex-extract';
import { roundDecimalText } from './round-text';

export const PLAIN_DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

export function isPlainDecimal(s: string): boolean {
  const m = PLAIN_DECIMAL.exec(s);
  return m !== null && (m[2].length > 0 || (m[3] ?? '').length > 0);
}

function negateDecimal(s: string): string {
  const t = s.trim();
  if (t.startsWith('-')) return t.slice(1);
  if (t.startsWith('+')) return `-${t.slice(1)}`;
  return `-${t}`;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
export function validDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return d <= (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]);
}

export interface DateFormat {
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

export type Fields = Record<string, string>;
/** A compiled transformation: returns a problem (and the field it concerns) or undefined. */
export type Step = (f: Fields) => readonly [string, string] | undefined;

export function present(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== '';
}

export function compileStep(t: Transformation): Step {
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
    case 'regex_extract': {
      const { field, into } = t;
      const extract = compileExtract(t);
      return (f) => {
        const v = f[field];
        const found = v === undefined ? undefined : extract(v);
        if (found === undefined || found === '') delete f[into];
        else f[into] = found;
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
