// Workbooks laid out for a controller, read back with exceljs: the totals or summary sheet first, a frozen and
// filterable header row, columns fitted to their content, amounts as numbers in the currency's decimals; and an
// exceptions sheet whose rows do not add up to the totals it shows first is refused, not written.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { Pool } from 'pg';
import { writeExceptionsXlsx, writeSummaryXlsx, type ReportInput } from '../../activities/reports';
import { categorySheetName } from '../../activities/reports/exceptions-report';
import { amountCell } from '../../activities/reports/cells';
import { displayLength, fitWidths, MAX_WIDTH } from '../../activities/reports/sheet-layout';
import { createResultStore, type ResultStore } from '../../activities/result-store';
import { freshDatabase } from '../helpers/postgres';

const LONG_KEY = 'ACME-DE/4711-INV-2026-10-000123/EUR';

describe('report sheet layout rules', () => {
  it('shows an amount with at least its currency decimals, keeping any extra places it has', () => {
    expect(amountCell('12.5', 2)).toEqual({ value: 12.5, numFmt: '#,##0.00;-#,##0.00' });
    expect(amountCell('1200', 0)).toEqual({ value: 1200, numFmt: '#,##0;-#,##0' });
    expect(amountCell('1.2345', 2)).toEqual({ value: 1.2345, numFmt: '#,##0.0000;-#,##0.0000' });
    expect(amountCell('7', 3)).toEqual({ value: 7, numFmt: '#,##0.000;-#,##0.000' });
  });

  it('measures numbers as they are shown, with grouping and decimals, and fits widths within bounds', () => {
    expect(displayLength(1234567.5, '#,##0.00;-#,##0.00')).toBe('1,234,567.50'.length);
    expect(displayLength(-1200, '#,##0;-#,##0')).toBe('-1,200'.length);
    expect(displayLength('a\nlonger line')).toBe('longer line'.length);
    expect(fitWidths(['Side', 'Key'], [[1, LONG_KEY.length]])).toEqual([7, LONG_KEY.length + 1]);
    expect(fitWidths(['Memo'], [[500]])).toEqual([MAX_WIDTH]);
  });
});

describe('the exceptions and summary workbooks as a controller opens them', () => {
  let pool: Pool;
  let store: ResultStore;
  let dir: string;
  let input: ReportInput;

  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('reports_layout'), max: 2 });
    store = createResultStore({ pool });
    await store.migrate();
    const { runId } = await store.startRun({
      workflowId: 'recon:ACME:2026-10:layout',
      workflowRunId: 'r1',
      reconId: 'layout',
      definitionHash: 'sha256:def',
    });
    await store.writeExceptions(runId, [
      { itemId: 'GL:1', side: 'a', key: LONG_KEY, category: 'missing_in_b', currency: 'EUR', amount: '1234.5' },
      {
        itemId: 'GL:2',
        side: 'a',
        key: 'K2',
        category: 'amount_mismatch',
        currency: 'EUR',
        amount: '10.00',
        amountA: '10.00',
        amountB: '9.99',
        difference: '0.01',
      },
      { itemId: 'ERP:3', side: 'b', key: 'K3', category: 'missing_in_a', currency: 'JPY', amount: '-1200' },
    ]);
    await store.finishRun(runId, { status: 'exceptions', summary: { a: { records: 3, amount: '1244.50' } } });
    dir = mkdtempSync(join(tmpdir(), 'finflow-reports-layout-'));
    input = { store, runId, reconId: 'layout', date: '2026-10-31', dir, batchSize: 2 };
  });

  afterAll(async () => {
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = async (path: string) => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(path);
    return wb;
  };
  const frozen = (ws: ExcelJS.Worksheet) =>
    ws.views.some((v) => v.state === 'frozen' && (v as { ySplit?: number }).ySplit === 1);
  const headerIndex = (ws: ExcelJS.Worksheet) => {
    const headers = (ws.getRow(1).values as unknown[]).slice(1).map(String);
    return (name: string) => headers.indexOf(name) + 1;
  };

  it('puts the totals first, freezes and filters both header rows, and fits the columns to what they hold', async () => {
    // Widths are measured on the header and the first batch (the rows are streamed); here the batch holds them all.
    const wb = await read((await writeExceptionsXlsx({ ...input, batchSize: 100 })).path);
    expect(wb.worksheets.map((w) => w.name)).toEqual([
      'Totals',
      'Exceptions',
      'amount_mismatch',
      'missing_in_a',
      'missing_in_b',
    ]);
    for (const ws of wb.worksheets) {
      expect(frozen(ws)).toBe(true);
      expect(ws.autoFilter).toBeTruthy();
      expect(ws.getRow(1).font?.bold).toBe(true);
    }
    const ws = wb.getWorksheet('Exceptions')!;
    const col = headerIndex(ws);
    expect(ws.getColumn(col('Key')).width).toBeGreaterThanOrEqual(LONG_KEY.length);
    expect(ws.getColumn(col('Side')).width).toBeLessThan(12);
    expect(ws.getColumn(col('Amount')).width).toBeGreaterThanOrEqual('Amount'.length + 3);
  });

  it("gives each category a sheet of its own holding exactly that category's rows, amounts numeric", async () => {
    const wb = await read((await writeExceptionsXlsx(input)).path);
    const items = (name: string) => {
      const ws = wb.getWorksheet(name)!;
      const col = headerIndex(ws);
      const out: [string, unknown, unknown][] = [];
      ws.eachRow((row, n) => {
        if (n > 1)
          out.push([
            String(row.getCell(1).value),
            row.getCell(col('Category')).value,
            row.getCell(col('Amount')).value,
          ]);
      });
      return out;
    };
    expect(items('missing_in_b')).toEqual([['GL:1', 'missing_in_b', 1234.5]]);
    expect(items('amount_mismatch')).toEqual([['GL:2', 'amount_mismatch', 10]]);
    expect(items('missing_in_a')).toEqual([['ERP:3', 'missing_in_a', -1200]]);
    // Every row of the main sheet is on exactly one category sheet.
    const all = items('Exceptions')
      .map(([id]) => id)
      .sort();
    const split = ['amount_mismatch', 'missing_in_a', 'missing_in_b'].flatMap((c) => items(c).map(([id]) => id)).sort();
    expect(split).toEqual(all);
  });

  it("names a category sheet within Excel's rules", () => {
    expect(categorySheetName('bank/fee:[x]?*')).toBe('bank_fee__x___');
    expect(categorySheetName('a'.repeat(40))).toHaveLength(31);
    expect(categorySheetName('')).toBe('(none)');
  });

  it('writes amounts as numeric cells in their currency decimals, in the rows and in the totals', async () => {
    const wb = await read((await writeExceptionsXlsx(input)).path);
    const ws = wb.getWorksheet('Exceptions')!;
    const col = headerIndex(ws);
    const byItem = new Map<string, ExcelJS.Row>();
    ws.eachRow((row, n) => n > 1 && byItem.set(String(row.getCell(1).value), row));
    const eur = byItem.get('GL:1')!.getCell(col('Amount'));
    expect(eur.type).toBe(ExcelJS.ValueType.Number);
    expect(eur.value).toBe(1234.5);
    expect(eur.numFmt).toBe('#,##0.00;-#,##0.00');
    const mismatch = byItem.get('GL:2')!;
    expect(mismatch.getCell(col('Amount A')).value).toBe(10);
    expect(mismatch.getCell(col('Amount B')).value).toBe(9.99);
    expect(mismatch.getCell(col('Difference')).type).toBe(ExcelJS.ValueType.Number);
    const jpy = byItem.get('ERP:3')!.getCell(col('Amount'));
    expect(jpy.value).toBe(-1200);
    expect(jpy.numFmt).toBe('#,##0;-#,##0');

    const totals = wb.getWorksheet('Totals')!;
    const rows = (totals.getSheetValues().slice(2) as unknown[][]).map((r) => r.slice(1));
    expect(rows).toEqual([
      ['EUR', 2, 1244.5, 0.01],
      ['JPY', 1, -1200, 0],
    ]);
    expect(totals.getRow(2).getCell(3).numFmt).toBe('#,##0.00;-#,##0.00');
    expect(totals.getRow(3).getCell(3).numFmt).toBe('#,##0;-#,##0');
  });

  it('refuses to finish a workbook whose streamed rows do not add up to the totals it put first', async () => {
    const dropping: ResultStore = {
      ...store,
      async *streamExceptions(id, opts) {
        for await (const batch of store.streamExceptions(id, opts)) yield batch.filter((r) => r.itemId !== 'ERP:3');
      },
    };
    const other = mkdtempSync(join(tmpdir(), 'finflow-reports-layout-fail-'));
    await expect(writeExceptionsXlsx({ ...input, store: dropping, dir: other })).rejects.toThrow(
      /currency "JPY" \(0 rows, amount 0, difference 0\) do not add up to the store's totals \(1, -1200, 0\)/,
    );
    expect(readdirSync(other)).toEqual([]);
    rmSync(other, { recursive: true });
  });

  it('puts the summary first in the summary workbook, with frozen headers, a filter and numeric amounts', async () => {
    const wb = await read((await writeSummaryXlsx(input)).path);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Summary', 'By category']);
    for (const ws of wb.worksheets) expect(frozen(ws)).toBe(true);
    const cats = wb.getWorksheet('By category')!;
    expect(cats.autoFilter).toBeTruthy();
    const col = headerIndex(cats);
    let checked = 0;
    cats.eachRow((row, n) => {
      if (n === 1) return;
      const amount = row.getCell(col('Amount'));
      expect(amount.type).toBe(ExcelJS.ValueType.Number);
      expect(amount.numFmt).toBe(row.getCell(col('Currency')).value === 'JPY' ? '#,##0;-#,##0' : '#,##0.00;-#,##0.00');
      checked++;
    });
    expect(checked).toBeGreaterThanOrEqual(5);
    const summary = wb.getWorksheet('Summary')!;
    expect(summary.getColumn(1).width).toBeGreaterThanOrEqual('summary.a.records'.length);
  });
});
