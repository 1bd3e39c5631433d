// The exceptions report of a reconciliation run, as xlsx (exceljs's streaming writer), csv or json. Rows come
// from the result store batch by batch and are written as they come: a run with 100k exceptions never holds
// 100k objects at once.
import type ExcelJS from 'exceljs';
import { Dec } from '../../domain/money';
import type { ExceptionRow, ExceptionTotal, ResultStore } from '../result-store';
import { amountCell, csvField, csvLine } from './cells';
import { catchUp } from './xlsx-backpressure';
import { applyWidths, decimalsOf, displayLength, fitWidths } from './sheet-layout';
import {
  type ReportFile,
  type ReportFormat,
  type ReportSealing,
  reportFileName,
  reportWorkbook,
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

function setCell(cell: ExcelJS.Cell, kind: Kind, v: string | number | null, decimals?: number): number {
  if (v === null) return 0;
  if (kind === 'amount') {
    const c = amountCell(String(v), decimals);
    cell.value = c.value;
    if (c.numFmt) cell.numFmt = c.numFmt;
    return displayLength(c.value, c.numFmt);
  }
  cell.value = v;
  return displayLength(v);
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

function writeCategorySheet(wb: ExcelJS.stream.xlsx.WorkbookWriter, category: string, rows: readonly ExceptionRow[]) {
  const ws = wb.addWorksheet(categorySheetName(category), { views: [{ state: 'frozen', ySplit: 1 }] });
  const headers = EXCEPTION_REPORT_COLUMNS.map((c) => c.header);
  const lengths = rows.map((r, j) => {
    const row = ws.getRow(j + 2);
    return EXCEPTION_REPORT_COLUMNS.map((c, i) =>
      setCell(row.getCell(i + 1), c.kind, c.get(r), c.kind === 'amount' ? decimalsOf(r.currency) : undefined),
    );
  });
  applyWidths(ws, fitWidths(headers, lengths));
  ws.getRow(1).values = headers;
  ws.getRow(1).font = { bold: true };
  ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: headers.length } };
  for (let i = 1; i <= rows.length + 1; i++) ws.getRow(i).commit();
  ws.commit();
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
      const wb = reportWorkbook(sink);

      const ts = wb.addWorksheet('Totals', { views: [{ state: 'frozen', ySplit: 1 }] });
      const totalRows = [...expected.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const totalLengths: number[][] = [];
      ts.getRow(1).values = TOTALS_HEADERS;
      ts.getRow(1).font = { bold: true };
      totalRows.forEach(([currency, t], i) => {
        const row = ts.getRow(i + 2);
        row.getCell(1).value = currency;
        row.getCell(2).value = t.count;
        const decimals = decimalsOf(currency);
        totalLengths.push([
          currency.length,
          String(t.count).length,
          setCell(row.getCell(3), 'amount', t.amount.toFixed(), decimals),
          setCell(row.getCell(4), 'amount', t.difference.toFixed(), decimals),
        ]);
      });
      applyWidths(ts, fitWidths(TOTALS_HEADERS, totalLengths));
      ts.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: TOTALS_HEADERS.length } };
      for (let i = 1; i <= totalRows.length + 1; i++) ts.getRow(i).commit();
      ts.commit();

      const count = [...expected.values()].reduce((n, t) => n + t.count, 0);
      const byCategory =
        count <= (input.categorySheetsMaxRows ?? CATEGORY_SHEETS_MAX_ROWS)
          ? new Map<string, ExceptionRow[]>()
          : undefined;
      const ws = wb.addWorksheet('Exceptions', { views: [{ state: 'frozen', ySplit: 1 }] });
      const headers = EXCEPTION_REPORT_COLUMNS.map((c) => c.header);
      const totals = new CurrencyTotals();
      const batches = input.store.streamExceptions(input.runId, { batchSize: input.batchSize })[Symbol.asyncIterator]();
      let next = await batches.next();
      // The first batch is laid into rows before anything is committed, so its lengths can size the columns.
      const fill = (batch: readonly ExceptionRow[], first: number) =>
        batch.map((r, j) => {
          const row = ws.getRow(first + j);
          return EXCEPTION_REPORT_COLUMNS.map((c, i) =>
            setCell(row.getCell(i + 1), c.kind, c.get(r), c.kind === 'amount' ? decimalsOf(r.currency) : undefined),
          );
        });
      const firstBatch = next.done ? [] : next.value;
      const lengths = fill(firstBatch, 2);
      applyWidths(ws, fitWidths(headers, lengths));
      ws.getRow(1).values = headers;
      ws.getRow(1).font = { bold: true };
      ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: headers.length } };
      ws.getRow(1).commit();
      let rows = 0;
      while (!next.done) {
        const batch = next.value;
        if (rows > 0) fill(batch, rows + 2);
        for (const r of batch) {
          ws.getRow(rows + 2).commit();
          totals.add(r);
          if (byCategory) {
            const list = byCategory.get(r.category);
            if (list) list.push(r);
            else byCategory.set(r.category, [r]);
          }
          rows++;
        }
        await catchUp(ws);
        next = await batches.next();
      }
      ws.commit();
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
          writeCategorySheet(wb, category, byCategory.get(category)!);
      await wb.commit();
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
