// The shape every file connector produces, and the checks shared by all of them. Records are streamed as an
// AsyncIterable so a file of a million rows is never held in memory; amounts stay exact decimal strings and
// dates ISO yyyy-mm-dd strings, both validated here so every connector refuses bad values the same way.
import { MoneyParseError, parseDecimal } from '../../domain/money';
import { SourceDataError, quote, type SourceLocation } from './source-error';

/** One record of a source: field name to its exact text, null where the cell is empty. */
export interface SourceRecord {
  [field: string]: string | null;
}

/** A record with where it came from: `line` is the 1-based line of a text file or the row of a sheet. */
export interface SourceRow {
  line: number;
  record: SourceRecord;
}

/** How amounts are written in a file. The output is always a plain decimal string ("-1234.56"). */
export interface AmountFormat {
  /** Decimal separator; default '.'. */
  decimal?: '.' | ',';
  /** Digit-group separator, if the file uses one; default none. Groups must then be of three digits. */
  group?: ',' | '.' | ' ' | "'";
}

export type DateFormat = 'yyyy-mm-dd' | 'yyyymmdd' | 'dd.mm.yyyy' | 'dd/mm/yyyy' | 'mm/dd/yyyy' | 'dd-mm-yyyy';

/** What a source declares about its fields (the seed's key_fields / value_fields). */
export interface FieldRules {
  /** Fields that must exist as columns and be non-empty in every record. */
  keyFields?: string[];
  /** Fields that must hold an exact decimal amount (empty allowed unless also a key field). */
  amountFields?: string[];
  /** Fields that must hold a real calendar date; normalised to yyyy-mm-dd. */
  dateFields?: string[];
  amountFormat?: AmountFormat;
  dateFormat?: DateFormat;
}

// ---------------------------------------------------------------------------------------------------------
// Dates

/** yyyy-mm-dd if (year, month, day) is a real calendar date (Feb 30 is not), else null. */
export function calendarDate(year: number, month: number, day: number): string | null {
  if (!Number.isInteger(year) || !Number.isInteger(month) || !Number.isInteger(day)) return null;
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return null;
  if (day > daysInMonth(year, month)) return null;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Two-digit years (MT940, BAI2) are read in a window: 00-69 are 2000-2069, 70-99 are 1970-1999. Both formats
 * date from after 1970 and the window stays right until 2069.
 */
export function yymmdd(text: string): string | null {
  const m = /^(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const yy = Number(m[1]);
  return calendarDate(yy < 70 ? 2000 + yy : 1900 + yy, Number(m[2]), Number(m[3]));
}

const DATE_PATTERNS: Record<DateFormat, { re: RegExp; y: number; m: number; d: number }> = {
  'yyyy-mm-dd': { re: /^(\d{4})-(\d{2})-(\d{2})$/, y: 1, m: 2, d: 3 },
  yyyymmdd: { re: /^(\d{4})(\d{2})(\d{2})$/, y: 1, m: 2, d: 3 },
  'dd.mm.yyyy': { re: /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/, y: 3, m: 2, d: 1 },
  'dd/mm/yyyy': { re: /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/, y: 3, m: 2, d: 1 },
  'mm/dd/yyyy': { re: /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/, y: 3, m: 1, d: 2 },
  'dd-mm-yyyy': { re: /^(\d{1,2})-(\d{1,2})-(\d{4})$/, y: 3, m: 2, d: 1 },
};

/** Parses a date written in `format` into yyyy-mm-dd; throws a reason (string) when it is not a real date. */
export function normaliseDate(raw: string, format: DateFormat = 'yyyy-mm-dd'): string {
  const p = DATE_PATTERNS[format];
  const m = p.re.exec(raw.trim());
  if (!m) throw new FieldProblem(`not a date in the format ${format}: ${quote(raw)}`);
  const iso = calendarDate(Number(m[p.y]), Number(m[p.m]), Number(m[p.d]));
  if (!iso) throw new FieldProblem(`not a real calendar date: ${quote(raw)}`);
  return iso;
}

// ---------------------------------------------------------------------------------------------------------
// Amounts

/** A value problem without a location yet; the caller adds source, line and field. */
export class FieldProblem extends Error {}

/**
 * Turns an amount as written (decimal comma, digit groups) into a plain decimal string, validated with
 * domain/money's parseDecimal. Canonical form: no '+', no leading zeros, no trailing fractional zeros
 * ("0012.50" -> "12.5"), so equal amounts from different files compare equal as strings.
 */
export function normaliseAmount(raw: string, format: AmountFormat = {}): string {
  const decimal = format.decimal ?? '.';
  const group = format.group;
  if (group !== undefined && group === decimal)
    throw new Error('amount format: group and decimal separators are the same');
  let s = raw.trim();
  if (group !== undefined && s.includes(group)) {
    const g = escapeRe(group);
    const d = escapeRe(decimal);
    if (!new RegExp(`^[+-]?\\d{1,3}(${g}\\d{3})+(${d}\\d*)?$`).test(s)) {
      throw new FieldProblem(`not a decimal amount (digit groups of three expected): ${quote(raw)}`);
    }
    s = s.split(group).join('');
  }
  if (decimal === ',') {
    if (s.includes('.')) throw new FieldProblem(`not a decimal amount (decimal comma expected): ${quote(raw)}`);
    s = s.replace(',', '.');
  }
  try {
    return parseDecimal(s).toFixed();
  } catch (err) {
    if (err instanceof MoneyParseError) throw new FieldProblem(`not a decimal amount: ${quote(raw)}`);
    throw err;
  }
}

/** Validates an amount that is already a plain decimal string (XML, sheets); returns its canonical form. */
export function checkDecimal(raw: string): string {
  return normaliseAmount(raw, {});
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------------------
// Field rules

/** Checks that every declared field is a column; run once on the header so a missing column fails at line 1. */
export function checkDeclaredColumns(rules: FieldRules, columns: string[], where: SourceLocation): void {
  const have = new Set(columns);
  for (const kind of ['keyFields', 'amountFields', 'dateFields'] as const) {
    for (const f of rules[kind] ?? []) {
      if (!have.has(f)) {
        throw new SourceDataError(
          { ...where, field: f },
          `declared ${kind === 'keyFields' ? 'key' : kind === 'amountFields' ? 'amount' : 'date'} field is not a column of the source (columns: ${columns.join(', ')})`,
        );
      }
    }
  }
}

/**
 * Applies the declared rules to one record in place: key fields present, amounts exact and canonical, dates real
 * and ISO. Throws SourceDataError naming the source, the line (or row) and the field.
 */
export function applyFieldRules(
  record: SourceRecord,
  rules: FieldRules,
  where: SourceLocation,
  /**
   * Fields whose value came from a typed sheet cell (number or date) and is already canonical: the file's amount
   * and date formats, which describe text cells, do not apply to them.
   */
  typedCells?: ReadonlySet<string>,
): SourceRecord {
  for (const f of rules.keyFields ?? []) {
    const v = record[f];
    if (v === null || v === undefined || v.trim() === '') {
      throw new SourceDataError({ ...where, field: f }, 'key field is empty');
    }
  }
  for (const f of rules.amountFields ?? []) {
    const v = record[f];
    if (v === null || v === undefined) continue;
    try {
      record[f] = normaliseAmount(v, typedCells?.has(f) ? {} : rules.amountFormat);
    } catch (err) {
      if (err instanceof FieldProblem) throw new SourceDataError({ ...where, field: f }, err.message);
      throw err;
    }
  }
  for (const f of rules.dateFields ?? []) {
    const v = record[f];
    if (v === null || v === undefined) continue;
    try {
      record[f] = normaliseDate(v, typedCells?.has(f) ? 'yyyy-mm-dd' : rules.dateFormat);
    } catch (err) {
      if (err instanceof FieldProblem) throw new SourceDataError({ ...where, field: f }, err.message);
      throw err;
    }
  }
  return record;
}
