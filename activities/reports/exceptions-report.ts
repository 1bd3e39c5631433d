// The exceptions report of a reconciliation run, as xlsx (exceljs's streaming writer), csv or json. Rows come
// from the result store batch by batch and are written as they come: a run with 100k exceptions never holds
// 100k objects at once.
import type ExcelJS from 'exceljs';
import { Dec } from '../../domain/money';
import type { ExceptionRow, ResultStore } from '../result-store';
import { amountCell, csvField, csvLine } from './cells';
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
}

type Kind = 'text' | 'amount' | 'int';

interface Column {
  header: string;
  json: string;
  kind: Kind;
  width: number;
  get(r: ExceptionRow): string | number | null;
}

export const EXCEPTION_REPORT_COLUMNS: Column[] = [
  { header: 'Item', json: 'item_id', kind: 'text', width: 22, get: (r) => r.itemId },
  { header: 'Side', json: 'side', kind: 'text', width: 6, get: (r) => r.side },
  { header: 'Key', json: 'key', kind: 'text', width: 24, get: (r) => r.key },
  { header: 'Category', json: 'category', kind: 'text', width: 18, get: (r) => r.category },
  { header: 'Currency', json: 'currency', kind: 'text', width: 9, get: (r) => r.currency },
  { header: 'Amount', json: 'amount', kind: 'amount', width: 18, get: (r) => r.amount },
  { header: 'Amount A', json: 'amount_a', kind: 'amount', width: 18, get: (r) => r.amountA },
  { header: 'Amount B', json: 'amount_b', kind: 'amount', width: 18, get: (r) => r.amountB },
  { header: 'Difference', json: 'difference', kind: 'amount', width: 16, get: (r) => r.difference },
  { header: 'Rule', json: 'rule', kind: 'text', width: 14, get: (r) => r.rule },
  { header: 'Accepted', json: 'accepted', kind: 'text', width: 9, get: (r) => (r.accepted ? 'yes' : 'no') },
  { header: 'Status', json: 'status', kind: 'text', width: 10, get: (r) => r.status },
  { header: 'Explanation', json: 'explanation', kind: 'text', width: 40, get: (r) => r.explanation },
  { header: 'Explained by', json: 'explained_by', kind: 'text', width: 18, get: (r) => r.explainedBy },
  { header: 'Explained at', json: 'explained_at', kind: 'text', width: 26, get: (r) => r.explainedAt },
  { header: 'Resolved by', json: 'resolved_by', kind: 'text', width: 18, get: (r) => r.resolvedBy },
  { header: 'Resolved at', json: 'resolved_at', kind: 'text', width: 26, get: (r) => r.resolvedAt },
  { header: 'Records A', json: 'a_items', kind: 'text', width: 24, get: (r) => r.aItems.join(' ') },
  { header: 'Records B', json: 'b_items', kind: 'text', width: 24, get: (r) => r.bItems.join(' ') },
  { header: 'Partition', json: 'partition', kind: 'int', width: 9, get: (r) => r.partition },
  {
    header: 'Evidence',
    json: 'evidence',
    kind: 'text',
    width: 60,
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

const BACKLOG_LIMIT = 4 << 20;
const STALL_MS = 60_000;

interface PipeLike {
  writableLength?: number;
  _writableState?: { length?: number };
  once?: (event: string, f: () => void) => void;
}

/** Bytes queued in the zip's input (archiver uses readable-stream 2, which has no writableLength). */
function backlog(p: PipeLike): number {
  return typeof p.writableLength === 'number' ? p.writableLength : (p._writableState?.length ?? 0);
}

/**
 * Waits until the sheet's compressed output has caught up. exceljs's streaming writer queues each committed row
 * for the zip without backpressure: compression falls behind and the queue grows with the row count (300k rows
 * held 200 MB). Its sheet stream pipes into the zip's input stream, whose backlog is readable here; if a future
 * exceljs hides it, this degrades to yielding to I/O between batches.
 */
async function catchUp(ws: ExcelJS.Worksheet): Promise<void> {
  const pipes = (ws as unknown as { stream?: { pipes?: unknown } }).stream?.pipes;
  if (Array.isArray(pipes))
    for (const p of pipes as PipeLike[]) {
      let last = backlog(p);
      let since = performance.now();
      while (backlog(p) > BACKLOG_LIMIT && typeof p.once === 'function') {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          p.once!('drain', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        const now = backlog(p);
        if (now !== last) [last, since] = [now, performance.now()];
        else if (performance.now() - since > STALL_MS)
          throw new Error(`the xlsx writer made no progress for ${STALL_MS / 1000} s`);
      }
    }
  await new Promise<void>((resolve) => setImmediate(resolve));
}

function setCell(cell: ExcelJS.Cell, kind: Kind, v: string | number | null): void {
  if (v === null) return;
  if (kind === 'amount') {
    const c = amountCell(String(v));
    cell.value = c.value;
    if (c.numFmt) cell.numFmt = c.numFmt;
  } else cell.value = v;
}

export async function writeExceptionsXlsx(input: ReportInput): Promise<ReportFile> {
  const path = join(input.dir, reportFileName(input.reconId, 'exceptions', input.date, 'xlsx', !!input.seal));
  return writeAtomically(
    path,
    async (sink) => {
      const wb = reportWorkbook(sink);
      const ws = wb.addWorksheet('Exceptions', { views: [{ state: 'frozen', ySplit: 1 }] });
      ws.columns = EXCEPTION_REPORT_COLUMNS.map((c) => ({ header: c.header, key: c.json, width: c.width }));
      ws.getRow(1).font = { bold: true };
      ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: EXCEPTION_REPORT_COLUMNS.length } };
      ws.getRow(1).commit();
      const totals = new CurrencyTotals();
      let rows = 0;
      for await (const batch of input.store.streamExceptions(input.runId, { batchSize: input.batchSize })) {
        for (const r of batch) {
          const row = ws.getRow(rows + 2);
          EXCEPTION_REPORT_COLUMNS.forEach((c, i) => setCell(row.getCell(i + 1), c.kind, c.get(r)));
          row.commit();
          totals.add(r);
          rows++;
        }
        await catchUp(ws);
      }
      ws.commit();
      const ts = wb.addWorksheet('Totals');
      ts.columns = [
        { header: 'Currency', key: 'currency', width: 10 },
        { header: 'Exceptions', key: 'count', width: 12 },
        { header: 'Amount', key: 'amount', width: 20 },
        { header: 'Difference', key: 'difference', width: 20 },
      ];
      ts.getRow(1).font = { bold: true };
      ts.getRow(1).commit();
      totals.rows().forEach((t, i) => {
        const row = ts.getRow(i + 2);
        row.getCell(1).value = t.currency;
        row.getCell(2).value = t.count;
        setCell(row.getCell(3), 'amount', t.amount);
        setCell(row.getCell(4), 'amount', t.difference);
        row.commit();
      });
      ts.commit();
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
