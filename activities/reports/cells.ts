// How values are written into report cells. Amounts are the delicate part: a controller must see the exact
// amount, and a spreadsheet is most useful when amounts are numbers it can sum.
//
// The choice, for xlsx: an amount is written as a NUMBER when that is provably exact, otherwise as TEXT.
// "Provably exact" means the decimal has at most 15 significant digits (Excel keeps and shows no more) and the
// double nearest to it prints back as the same decimal (String(n) === canonical text). The file's XML then holds
// that very decimal, Excel displays it, and a number format with the amount's own decimal places shows "12.50"
// as 12.50. Anything longer (a 20-digit balance, 18 decimal places) is written as the exact decimal string in a
// text cell, so nothing is ever rounded silently; such cells do not take part in Excel sums, and the report's
// totals come from the database's exact arithmetic, not from the sheet.
// CSV and JSON carry every amount as its exact decimal string.

const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** Canonical decimal text (no '+', no leading zeros, no trailing fractional zeros, no negative zero). */
function canonical(s: string): string {
  let neg = s.startsWith('-');
  const body = s.replace(/^[+-]/, '');
  const [i = '', f = ''] = body.split('.');
  const int = i.replace(/^0+(?=\d)/, '') || '0';
  const frac = f.replace(/0+$/, '');
  if (/^0*$/.test(int) && frac === '') neg = false;
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

function significantDigits(canon: string): number {
  const digits = canon.replace(/[-.]/g, '').replace(/^0+/, '');
  return digits.replace(/0+$/, '').length || 1;
}

export interface AmountCell {
  value: number | string | null;
  /** Number format for a numeric cell: grouping and exactly the amount's decimal places. */
  numFmt?: string;
}

/**
 * The xlsx cell for a decimal string; see the file comment for why it is a number only when that is exact. With
 * `decimals` (the currency's minor units), the format shows at least that many places, so EUR reads 12.50 and
 * JPY 1,200; an amount with more places than its currency (a rate, an FX amount) keeps all of them.
 */
export function amountCell(s: string | null | undefined, decimals?: number): AmountCell {
  if (s === null || s === undefined) return { value: null };
  const text = s.trim();
  if (!DECIMAL_RE.test(text)) return { value: s };
  const canon = canonical(text);
  const n = Number(canon);
  if (significantDigits(canon) > 15 || !Number.isFinite(n) || String(n) !== canon) return { value: text };
  const own = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
  const places = Math.max(own, decimals ?? 0);
  const fmt = places > 0 ? `#,##0.${'0'.repeat(places)}` : '#,##0';
  return { value: n, numFmt: `${fmt};-${fmt}` };
}

/**
 * One CSV field (RFC 4180). `text` fields that a spreadsheet would run as a formula (starting with = + @, a tab
 * or a carriage return, or a '-' that does not start a number) get a leading apostrophe: a report must never
 * execute what a source system put in a memo or key. Amount fields are never touched.
 */
export function csvField(v: string | number | null | undefined, kind: 'text' | 'amount' = 'text'): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (kind === 'text' && /^([=+@\t\r]|-(?![\d.]))/.test(s)) s = `'${s}`;
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(fields: string[]): string {
  return `${fields.join(',')}\r\n`;
}
