// The exceptions report of a reconciliation run, as xlsx (exceljs's streaming writer), csv or json. Rows come
// from the result store batch by batch and are written as they come: a run with 100k exceptions never holds
// 100k objects at once.
import { Dec } from '../../domain/money';
import type { ExceptionRow, ExceptionTotal, ResultStore } from '../result-store';
import { amountCell, csvField, csvLine } from './cells';
import { XlsxStreamWriter, type XlsxCell } from './xlsx-stream';
import { decimalsOf, displayLength, fitWidths } from './sheet-layout';
import {
  type ReportFile,
  type ReportFormat,
  type ReportSealing,
  reportFileName,
  withTextFile,
  writeAtomically,
} from './files';
import { join } from 'node:path';

export interface ReportInput extends ReportSealing {
  store: ResultStore;
  runId: string;
  reconId: string;
  /** The business date in the file name (the period end or as-of date), yyyy-mm-dd; never the clock's. */
  date: string;
  dir: string;
  /** Rows per read from the store. */
  batchSize?: number;
  /** Above this many exceptions, no sheet per category (default CATEGORY_SHEETS_MAX_ROWS). */
  categorySheetsMaxRows?: number;
}

type Kind = 'text' | 'amount' | 'int';

interface Column {
  header: string;
  json: string;
  kind: Kind;
  get(r: ExceptionRow): string | number | null;
}

export const EXCEPTION_REPORT_COLUMNS: Column[] = [
  { header: 'Item', json: 'item_id', kind: 'text', get: (r) => r.itemId },
  { header: 'Side', json: 'side', kind: 'text', get: (r) => r.side },
  { header: 'Key', json: 'key', kind: 'text', get: (r) => r.key },
  { header: 'Category', json: 'category', kind: 'text', get: (r) => r.category },
  { header: 'Currency', json: 'currency', kind: 'text', get: (r) => r.currency },
  { header: 'Amount', json: 'amount', kind: 'amount', get: (r) => r.amount },
  { header: 'Amount A', json: 'amount_a', kind: 'amount', get: (r) => r.amountA },
  { header: 'Amount B', json: 'amount_b', kind: 'amount', get: (r) => r.amountB },
  { header: 'Difference', json: 'difference', kind: 'amount', get: (r) => r.difference },
  { header: 'Rule', json: 'rule', kind: 'text', get: (r) => r.rule },
  { header: 'Accepted', json: 'accepted', kind: 'text', get: (r) => (r.accepted ? 'yes' : 'no') },
  { header: 'Status', json: 'status', kind: 'text', get: (r) => r.status },
  { header: 'Explanation', json: 'explanation', kind: 'text', get: (r) => r.explanation },
  { header: 'Explained by', json: 'explained_by', kind: 'text', get: (r) => r.explainedBy },
  { header: 'Explained at', json: 'explained_at', kind: 'text', get: (r) => r.explainedAt },
  { header: 'Resolved by', json: 'resolved_by', kind: 'text', get: (r) => r.resolvedBy },
  { header: 'Resolved at', json: 'resolved_at', kind: 'text', get: (r) => r.resolvedAt },
  { header: 'Records A', json: 'a_items', kind: 'text', get: (r) => r.aItems.join(' ') },
  { header: 'Records B', json: 'b_items', kind: 'text', get: (r) => r.bItems.join(' ') },
  { header: 'Partition', json: 'partition', kind: 'int', get: (r) => r.partition },
  {
    header: 'Evidence',
    json: 'evidence',
    kind: 'text',
    get: (r) => (typeof r.evidence === 'string' ? r.evidence : JSON.stringify(r.evidence)),
  },
];

/** Exact running totals per currency, kept while streaming (a handful of entries, whatever the row count). */
class CurrencyTotals {
  private readonly totals = new Map<string, { count: number; amount: Dec; difference: Dec }>();

  add(r: ExceptionRow): void {
    const cur = r.currency ?? '';
    const t = this.totals.get(cur) ?? { count: 0, amount: new Dec(0), difference: new Dec(0) };
    t.count++;
    if (r.amount !== null) t.amount = t.amount.plus(r.amount);
    if (r.difference !== null) t.difference = t.difference.plus(r.difference);
    this.totals.set(cur, t);
  }

  rows(): { currency: string; count: number; amount: string; difference: string }[] {
    return [...this.totals.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([currency, t]) => ({
        currency,
        count: t.count,
        amount: t.amount.toFixed(),
        difference: t.difference.toFixed(),
      }));
  }
}

/** A value as an xlsx cell, and (when `measure`) how many characters it shows, for the column widths. */
function cellOf(
  kind: Kind,
  v: string | number | null,
  decimals?: number,
  measure = true,
): { cell: XlsxCell; length: number } {
  if (v === null) return { cell: null, length: 0 };
  if (kind === 'amount') {
    const c = amountCell(String(v), decimals);
    const cell = typeof c.value === 'number' && c.numFmt ? { value: c.value, numFmt: c.numFmt } : c.value;
    return { cell, length: measure ? displayLength(c.value, c.numFmt) : 0 };
  }
  return { cell: v, length: measure ? displayLength(v) : 0 };
}

/** An exception as a sheet row, and (when `measure`) the characters each cell shows. */
function exceptionCells(r: ExceptionRow, measure = true): { cells: XlsxCell[]; lengths: number[] } {
  const cells: XlsxCell[] = [];
  const lengths: number[] = [];
  for (const c of EXCEPTION_REPORT_COLUMNS) {
    const x = cellOf(c.kind, c.get(r), c.kind === 'amount' ? decimalsOf(r.currency) : undefined, measure);
    cells.push(x.cell);
    lengths.push(x.length);
  }
  return { cells, lengths };
}

/** Per currency, from the store's exact sums: the totals sheet comes first, before the rows are streamed. */
function totalsByCurrency(categories: readonly ExceptionTotal[]) {
  const by = new Map<string, { count: number; amount: Dec; difference: Dec }>();
  for (const c of categories) {
    const cur = c.currency ?? '';
    const t = by.get(cur) ?? { count: 0, amount: new Dec(0), difference: new Dec(0) };
    t.count += c.count;
    t.amount = t.amount.plus(c.amount);
    t.difference = t.difference.plus(c.difference);
    by.set(cur, t);
  }
  return by;
}

const TOTALS_HEADERS = ['Currency', 'Exceptions', 'Amount', 'Difference'];

/**
 * Up to this many exceptions, the workbook also gets one sheet per category (a reviewer works a category at a
 * time); the rows are held until the main sheet is written, so the limit bounds the memory. Above it, the
 * "Exceptions" sheet's Category filter does the same job.
 */
export const CATEGORY_SHEETS_MAX_ROWS = 20_000;

/** A category as an Excel sheet name: at most 31 characters, none of : \ / ? * [ ]. */
export function categorySheetName(category: string): string {
  return category.replace(/[:\\/?*[\]]/g, '_').slice(0, 31) || '(none)';
}

async function writeCategorySheet(wb: XlsxStreamWriter, category: string, rows: readonly ExceptionRow[]) {
  const laid = rows.map((r) => exceptionCells(r));
  const headers = EXCEPTION_REPORT_COLUMNS.map((c) => c.header);
  const sheet = wb.addSheet(categorySheetName(category), {
    headers,
    widths: fitWidths(
      headers,
      laid.map((l) => l.lengths),
    ),
  });
  await sheet.addRows(laid.map((l) => l.cells));
  await sheet.end();
}

/**
 * The exceptions workbook: a "Totals" sheet first (exceptions, amount and difference per currency, the store's
 * exact sums), then "Exceptions", one row per exception, then (up to CATEGORY_SHEETS_MAX_ROWS exceptions) one
 * sheet per category, named after it, in alphabetical order. Both sheets have a frozen, filterable header row and
 * columns fitted to their content (the exceptions sheet measures the header and its first batch: rows are
 * streamed, and the widths must be written before the first row). Amounts are numbers shown with their currency's
 * decimals wherever a number holds them exactly. The rows streamed must add up to the totals shown first, per
 * currency, or the report fails rather than contradict itself.
 */
export async function writeExceptionsXlsx(input: ReportInput): Promise<ReportFile> {
  const path = join(input.dir, reportFileName(input.reconId, 'exceptions', input.date, 'xlsx', !!input.seal));
  return writeAtomically(
    path,
    async (sink) => {
      const expected = totalsByCurrency(await input.store.exceptionTotals(input.runId));
      const wb = new XlsxStreamWriter(sink.open());

      const totalRows = [...expected.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const totalCells = totalRows.map(([currency, t]) => {
        const decimals = decimalsOf(currency);
        const amount = cellOf('amount', t.amount.toFixed(), decimals);
        const difference = cellOf('amount', t.difference.toFixed(), decimals);
        return {
          cells: [currency, t.count, amount.cell, difference.cell],
          lengths: [currency.length, String(t.count).length, amount.length, difference.length],
        };
      });
      const ts = wb.addSheet('Totals', {
        headers: TOTALS_HEADERS,
        widths: fitWidths(
          TOTALS_HEADERS,
          totalCells.map((t) => t.lengths),
        ),
      });
      await ts.addRows(totalCells.map((t) => t.cells));
      await ts.end();

      const count = [...expected.values()].reduce((n, t) => n + t.count, 0);
      const byCategory =
        count <= (input.categorySheetsMaxRows ?? CATEGORY_SHEETS_MAX_ROWS)
          ? new Map<string, ExceptionRow[]>()
          : undefined;
      const headers = EXCEPTION_REPORT_COLUMNS.map((c) => c.header);
      const totals = new CurrencyTotals();
      const batches = input.store.streamExceptions(input.runId, { batchSize: input.batchSize })[Symbol.asyncIterator]();
      let next = await batches.next();
      // The first batch is laid out before the sheet starts, so its lengths can size the columns.
      const first = (next.done ? [] : next.value).map((r) => exceptionCells(r));
      const ws = wb.addSheet('Exceptions', {
        headers,
        widths: fitWidths(
          headers,
          first.map((l) => l.lengths),
        ),
      });
      let rows = 0;
      while (!next.done) {
        const batch = next.value;
        const laid = rows === 0 ? first : batch.map((r) => exceptionCells(r, false));
        await ws.addRows(laid.map((l) => l.cells));
        for (const r of batch) {
          totals.add(r);
          if (byCategory) {
            const list = byCategory.get(r.category);
            if (list) list.push(r);
            else byCategory.set(r.category, [r]);
          }
          rows++;
        }
        next = await batches.next();
      }
      await ws.end();
      const streamed = new Map(totals.rows().map((t) => [t.currency, t]));
      for (const cur of new Set([...expected.keys(), ...streamed.keys()])) {
        const e = expected.get(cur);
        const s = streamed.get(cur);
        if (!e || !s || e.count !== s.count || !e.amount.eq(s.amount) || !e.difference.eq(s.difference))
          throw new Error(
            `exceptions report of ${input.runId}: the rows written for currency ${JSON.stringify(cur)} ` +
              `(${s?.count ?? 0} rows, amount ${s?.amount ?? '0'}, difference ${s?.difference ?? '0'}) do not add up to ` +
              `the store's totals (${e?.count ?? 0}, ${e?.amount.toFixed() ?? '0'}, ${e?.difference.toFixed() ?? '0'})`,
          );
      }
      if (byCategory)
        for (const category of [...byCategory.keys()].sort())
          await writeCategorySheet(wb, category, byCategory.get(category)!);
      await wb.end();
      return rows;
    },
    input,
  );
}

export async function writeExceptionsCsv(input: ReportInput): Promise<ReportFile> {
  const path = join(input.dir, reportFileName(input.reconId, 'exceptions', input.date, 'csv', !!input.seal));
  return writeAtomically(
    path,
    (sink) =>
      withTextFile(sink.open(), async (write) => {
        // A BOM, so spreadsheet programs read the file as UTF-8 (names and memos are not ASCII everywhere).
        await write(`\ufeff${csvLine(EXCEPTION_REPORT_COLUMNS.map((c) => csvField(c.json)))}`);
        let rows = 0;
        for await (const batch of input.store.streamExceptions(input.runId, { batchSize: input.batchSize })) {
          let chunk = '';
          for (const r of batch) {
            chunk += csvLine(
              EXCEPTION_REPORT_COLUMNS.map((c) => csvField(c.get(r), c.kind === 'amount' ? 'amount' : 'text')),
            );
            rows++;
          }
          await write(chunk);
        }
        return rows;
      }),
    input,
  );
}

export async function writeExceptionsJson(input: ReportInput): Promise<ReportFile> {
  const path = join(input.dir, reportFileName(input.reconId, 'exceptions', input.date, 'json', !!input.seal));
  return writeAtomically(
    path,
    (sink) =>
      withTextFile(sink.open(), async (write) => {
        const head = { report: 'exceptions', recon_id: input.reconId, date: input.date, run_id: input.runId };
        await write(`${JSON.stringify(head).slice(0, -1)},"exceptions":[`);
        const totals = new CurrencyTotals();
        let rows = 0;
        for await (const batch of input.store.streamExceptions(input.runId, { batchSize: input.batchSize })) {
          let chunk = '';
          for (const r of batch) {
            const o: Record<string, unknown> = {};
            for (const c of EXCEPTION_REPORT_COLUMNS) o[c.json] = c.get(r);
            // JSON keeps the native shapes the columns flatten for sheets.
            Object.assign(o, { accepted: r.accepted, a_items: r.aItems, b_items: r.bItems, evidence: r.evidence });
            chunk += `${rows ? ',' : ''}\n${JSON.stringify(o)}`;
            totals.add(r);
            rows++;
          }
          await write(chunk);
        }
        await write(`\n],"count":${rows},"totals":${JSON.stringify(totals.rows())}}\n`);
        return rows;
      }),
    input,
  );
}

export function writeExceptionsReport(format: ReportFormat, input: ReportInput): Promise<ReportFile> {
  switch (format) {
    case 'xlsx':
      return writeExceptionsXlsx(input);
    case 'csv':
      return writeExceptionsCsv(input);
    case 'json':
      return writeExceptionsJson(input);
  }
}
