// How a report sheet is laid out for the person who opens it: columns as wide as what they hold (measured on the
// header and the rows at hand, within bounds so one long memo does not push the rest off screen), and amounts
// shown with their currency's decimals. Pure: the writers measure rows they already hold, never re-read.
import { currencyDecimals } from '../../domain/money';

export const MIN_WIDTH = 6;
export const MAX_WIDTH = 60;
/** Room for the autofilter's drop-down button beside a header. */
const FILTER_BUTTON = 3;

/** Characters a value takes on screen: numbers with their grouping separators and decimals as formatted. */
export function displayLength(v: unknown, numFmt?: string): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') {
    const places = numFmt ? (/0\.(0+)/.exec(numFmt)?.[1].length ?? 0) : 0;
    const text = Math.abs(v).toFixed(places);
    const int = text.split('.')[0];
    return text.length + Math.floor((int.length - 1) / 3) + (v < 0 ? 1 : 0);
  }
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  // A cell shows its longest line.
  return s.includes('\n') ? Math.max(...s.split('\n').map((l) => l.length)) : s.length;
}

/** Column widths (in characters) fitted to the header and the given rows, each within [MIN_WIDTH, MAX_WIDTH]. */
export function fitWidths(headers: readonly string[], rows: Iterable<readonly number[]>): number[] {
  const widths = headers.map((h) => h.length + FILTER_BUTTON);
  for (const lengths of rows) lengths.forEach((n, i) => (widths[i] = Math.max(widths[i] ?? 0, n + 1)));
  return widths.map((w) => Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, w)));
}

/** The decimals an amount in this currency is shown with; unknown when the row names no currency. */
export function decimalsOf(currency: string | null | undefined): number | undefined {
  return currency ? currencyDecimals(currency) : undefined;
}

/** exceljs treats a width of exactly 9 as its default and leaves the column out of the file (Excel then shows 8.43). */
const EXCELJS_DEFAULT_WIDTH = 9;

export function applyWidths(ws: { getColumn(n: number): { width?: number } }, widths: readonly number[]): void {
  widths.forEach((w, i) => (ws.getColumn(i + 1).width = w === EXCELJS_DEFAULT_WIDTH ? w + 0.1 : w));
}
