// The summary report's ageing (issue 15): a run's unresolved exceptions by age since first seen (0-30, 31-60,
// 61-90, over 90 days) per category and currency, as its roll-forward recorded them with the run's summary.
import type ExcelJS from 'exceljs';
import { AGEING_BUCKETS, type AgeingRow } from '../../domain/exceptions/ageing';
import { amountCell } from './cells';
import { applyWidths, decimalsOf, displayLength, fitWidths } from './sheet-layout';

/** The ageing the run recorded with its summary (runs with roll-forward), or none. */
export function recordedAgeing(summary: unknown): AgeingRow[] {
  const rf = (summary as { rollForward?: { ageing?: unknown } } | null)?.rollForward;
  return Array.isArray(rf?.ageing) ? (rf.ageing as AgeingRow[]) : [];
}

/** The summary without its ageing rows (they have a sheet of their own, not label/value lines). */
export function summaryWithoutAgeing(summary: unknown): unknown {
  const s = summary as { rollForward?: Record<string, unknown> } | null;
  if (!s || typeof s !== 'object' || !s.rollForward || typeof s.rollForward !== 'object') return summary;
  const { ageing: _ownSheet, ...rollForward } = s.rollForward;
  return { ...s, rollForward };
}

export const AGEING_HEADERS = [
  'Category',
  'Currency',
  ...AGEING_BUCKETS.flatMap((b) => {
    const days = b === 'over_90' ? 'Over 90 days' : `${b} days`;
    return [`${days} count`, `${days} amount`];
  }),
  'Count',
  'Amount',
];

function amount(cell: ExcelJS.Cell, v: string, decimals?: number): number {
  const c = amountCell(v, decimals);
  cell.value = c.value;
  if (c.numFmt) cell.numFmt = c.numFmt;
  return displayLength(c.value, c.numFmt);
}

/** "Ageing": one line per category and currency, each bucket's count and amount, then the line's count and amount. */
export function writeAgeingSheet(wb: ExcelJS.stream.xlsx.WorkbookWriter, ageing: readonly AgeingRow[]): void {
  const ws = wb.addWorksheet('Ageing', { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.getRow(1).values = AGEING_HEADERS;
  ws.getRow(1).font = { bold: true };
  const lengths = ageing.map((r, i) => {
    const row = ws.getRow(i + 2);
    const decimals = decimalsOf(r.currency);
    row.getCell(1).value = r.category;
    row.getCell(2).value = r.currency ?? '';
    const out = [displayLength(r.category), displayLength(r.currency ?? '')];
    let col = 3;
    for (const b of AGEING_BUCKETS) {
      row.getCell(col).value = r.buckets[b].count;
      out.push(displayLength(r.buckets[b].count), amount(row.getCell(col + 1), r.buckets[b].total, decimals));
      col += 2;
    }
    row.getCell(col).value = r.count;
    out.push(displayLength(r.count), amount(row.getCell(col + 1), r.total, decimals));
    return out;
  });
  applyWidths(ws, fitWidths(AGEING_HEADERS, lengths));
  ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: AGEING_HEADERS.length } };
  for (let i = 1; i <= ageing.length + 1; i++) ws.getRow(i).commit();
  ws.commit();
}
