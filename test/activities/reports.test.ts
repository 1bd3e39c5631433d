import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { Pool } from 'pg';
import {
  type ReportInput,
  amountCell,
  reportFileName,
  writeExceptionsCsv,
  writeExceptionsJson,
  writeExceptionsXlsx,
  writeSummaryCsv,
  writeSummaryJson,
  writeSummaryXlsx,
} from '../../activities/reports';
import { type ExceptionInput, type ResultStore, createResultStore } from '../../activities/result-store';
import { DatasetCipher } from '../../activities/security/envelope';
import { openSealedFile, unsealFile } from '../../activities/security/file-seal';
import { minorToString } from '../../domain/money';
import { freshDatabase } from '../helpers/postgres';

const N = 5000;
const CATEGORIES = ['amount_mismatch', 'missing_in_a', 'missing_in_b'];

function* exceptions(n: number): Generator<ExceptionInput> {
  for (let i = 1; i <= n; i++)
    yield {
      itemId: `GL:${String(i).padStart(6, '0')}`,
      side: i % 2 ? 'a' : 'b',
      key: `ACC-${i % 100}`,
      category: CATEGORIES[i % 3],
      currency: 'EUR',
      amount: minorToString(BigInt(((i * 7919) % 2_000_001) - 1_000_000), 2),
      difference: i % 3 === 0 ? minorToString(BigInt(i), 2) : null,
      evidence: { records: [`GL:${i}`] },
      partition: i % 4,
    };
}

const SPECIAL: ExceptionInput[] = [
  {
    itemId: 'ERP:BIG',
    side: 'b',
    key: '=HYPERLINK("http://evil","x")',
    category: 'amount_mismatch',
    currency: 'EUR',
    amount: '123456789012345678.91',
    difference: '0.10',
    evidence: { note: 'comma, "quote"\nnew line' },
  },
  {
    itemId: 'ERP:TINY',
    side: 'b',
    key: '-dash',
    category: 'rounding',
    currency: 'JPY',
    amount: '-1200',
    difference: '0.000000000000000001',
  },
];

/** Cents of a decimal string with at most 2 places. */
const cents = (s: string) => {
  const [i, f = ''] = s.replace('-', '').split('.');
  const v = BigInt(i + f.padEnd(2, '0'));
  return s.startsWith('-') ? -v : v;
};

/** The store, losing its connection after the first batch of exceptions it streams. */
function failingAfterFirstBatch(store: ResultStore): ResultStore {
  return {
    ...store,
    async *streamExceptions(id, opts) {
      for await (const batch of store.streamExceptions(id, opts)) {
        yield batch;
        throw new Error('connection lost');
      }
    },
  };
}

describe('reconciliation reports', () => {
  let pool: Pool;
  let store: ResultStore;
  let runId: string;
  let dir: string;
  let input: ReportInput;
  let eurCents = 0n;

  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('reports'), max: 3 });
    store = createResultStore({ pool });
    await store.migrate();
    ({ runId } = await store.startRun({
      workflowId: 'recon:ACME:2026-10:gl-vs-erp',
      workflowRunId: 'r1',
      reconId: 'gl-vs-erp',
      definitionHash: 'sha256:def',
    }));
    await store.writeExceptions(runId, [...exceptions(N), ...SPECIAL]);
    await store.explainException(runId, 'GL:000003', {
      explanation: 'FX revaluation',
      by: 'ap@acme',
      at: '2026-11-02T09:00:00Z',
    });
    await store.finishRun(runId, {
      status: 'exceptions',
      summary: { a: { records: 1000000, amount: '98765432109876.55' }, keys: { matched: 990000 }, balanced: false },
    });
    for (const x of exceptions(N)) eurCents += cents(x.amount!);
    eurCents += cents('123456789012345678.91');
    dir = mkdtempSync(join(tmpdir(), 'finflow-reports-'));
    input = { store, runId, reconId: 'gl-vs-erp', date: '2026-10-31', dir, batchSize: 700 };
  });

  afterAll(async () => {
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
  const noTempFiles = () => expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

  it('names files <recon>_<kind>_<date>.<ext> and refuses names that could leave the directory', () => {
    expect(reportFileName('gl-vs-erp', 'exceptions', '2026-10-31', 'xlsx')).toBe(
      'gl-vs-erp_exceptions_2026-10-31.xlsx',
    );
    expect(reportFileName('gl-vs-erp', 'summary', '2026-10-31', 'csv')).toBe('gl-vs-erp_summary_2026-10-31.csv');
    expect(() => reportFileName('../etc', 'summary', '2026-10-31', 'csv')).toThrow(ApplicationFailure);
    expect(() => reportFileName('x', 'summary', '31.10.2026', 'csv')).toThrow(/not yyyy-mm-dd/);
  });

  it('writes an amount as a number only when the number is exactly the decimal, with its own decimal places', () => {
    expect(amountCell('1234.50')).toEqual({ value: 1234.5, numFmt: '#,##0.00;-#,##0.00' });
    expect(amountCell('-0.10')).toEqual({ value: -0.1, numFmt: '#,##0.00;-#,##0.00' });
    expect(amountCell('-1200')).toEqual({ value: -1200, numFmt: '#,##0;-#,##0' });
    expect(amountCell('999999999999.999')).toEqual({ value: 999999999999.999, numFmt: '#,##0.000;-#,##0.000' });
    // 16+ significant digits: Excel would show a rounded value, so the exact text is written instead.
    expect(amountCell('1234567890123.4567')).toEqual({ value: '1234567890123.4567' });
    expect(amountCell('0.000000000000000001')).toEqual({ value: '0.000000000000000001' });
    expect(amountCell(null)).toEqual({ value: null });
  });

  it('writes the exceptions workbook with exact amounts a controller can read, and totals that balance', async () => {
    const file = await writeExceptionsXlsx(input);
    expect(file.path).toBe(join(dir, 'gl-vs-erp_exceptions_2026-10-31.xlsx'));
    expect(file.rows).toBe(N + 2);
    expect(file.sha256).toBe(sha(file.path));
    noTempFiles();

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file.path);
    const ws = wb.getWorksheet('Exceptions')!;
    expect(ws.rowCount).toBe(N + 3);
    const headers = (ws.getRow(1).values as unknown[]).slice(1);
    expect(headers.slice(0, 9)).toEqual([
      'Item',
      'Side',
      'Key',
      'Category',
      'Currency',
      'Amount',
      'Amount A',
      'Amount B',
      'Difference',
    ]);
    const col = (name: string) => {
      const i = headers.indexOf(name);
      expect(i).toBeGreaterThanOrEqual(0);
      return i + 1;
    };
    const [KEY, CUR, AMOUNT, DIFF, STATUS, EXPL, EXPL_AT, EVIDENCE] = [
      'Key',
      'Currency',
      'Amount',
      'Difference',
      'Status',
      'Explanation',
      'Explained at',
      'Evidence',
    ].map(col);
    const byItem = new Map<string, ExcelJS.Row>();
    let sheetCents = 0n;
    ws.eachRow((row, n) => {
      if (n === 1) return;
      byItem.set(String(row.getCell(1).value), row);
      const amount = row.getCell(AMOUNT);
      // Every amount reads back as its exact decimal: numbers print as the decimal, text is the decimal.
      expect(['number', 'string']).toContain(typeof amount.value);
      if (row.getCell(CUR).value === 'EUR') sheetCents += cents(String(amount.value));
    });
    expect(sheetCents).toBe(eurCents);

    const big = byItem.get('ERP:BIG')!;
    expect(big.getCell(KEY).value).toBe('=HYPERLINK("http://evil","x")');
    expect(big.getCell(KEY).formula).toBeUndefined();
    expect(big.getCell(AMOUNT).value).toBe('123456789012345678.91');
    expect(big.getCell(DIFF).value).toBe(0.1);
    expect(big.getCell(DIFF).numFmt).toBe('#,##0.00;-#,##0.00');

    const explained = byItem.get('GL:000003')!;
    const x3 = [...exceptions(3)][2];
    expect(explained.getCell(AMOUNT).value).toBe(Number(x3.amount));
    expect(explained.getCell(AMOUNT).numFmt).toBe('#,##0.00;-#,##0.00');
    expect(explained.getCell(DIFF).value).toBe(0.03);
    expect(explained.getCell(STATUS).value).toBe('explained');
    expect(explained.getCell(EXPL).value).toBe('FX revaluation');
    expect(explained.getCell(EXPL_AT).value).toBe('2026-11-02T09:00:00+00:00');
    expect(JSON.parse(String(explained.getCell(EVIDENCE).value))).toEqual({ records: ['GL:3'] });
    expect(byItem.get('GL:000001')!.getCell(DIFF).value).toBeNull();
    expect(byItem.get('ERP:TINY')!.getCell(DIFF).value).toBe('0.000000000000000001');

    const totals = wb.getWorksheet('Totals')!;
    const rows = totals.getSheetValues().slice(2) as unknown[][];
    expect(rows.map((r) => r.slice(1))).toEqual([
      ['EUR', N + 1, minorToString(eurCents, 2), expect.anything()],
      ['JPY', 1, -1200, '0.000000000000000001'],
    ]);
  });

  it('writes the exceptions as CSV with exact amounts and neutralised formulas', async () => {
    const file = await writeExceptionsCsv(input);
    expect(file.path).toBe(join(dir, 'gl-vs-erp_exceptions_2026-10-31.csv'));
    expect(file.sha256).toBe(sha(file.path));
    const records = parse(readFileSync(file.path), { bom: true, columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(N + 2);
    expect(file.rows).toBe(N + 2);
    let total = 0n;
    for (const r of records) if (r.currency === 'EUR') total += cents(r.amount);
    expect(total).toBe(eurCents);
    const big = records.find((r) => r.item_id === 'ERP:BIG')!;
    expect(big).toMatchObject({
      key: `'=HYPERLINK("http://evil","x")`,
      amount: '123456789012345678.91',
      difference: '0.10',
    });
    expect(JSON.parse(big.evidence)).toEqual({ note: 'comma, "quote"\nnew line' });
    const tiny = records.find((r) => r.item_id === 'ERP:TINY')!;
    expect(tiny).toMatchObject({ key: "'-dash", amount: '-1200', difference: '0.000000000000000001' });
    expect(records.find((r) => r.item_id === 'GL:000001')!.difference).toBe('');
  });

  it('writes the exceptions as JSON with amounts as strings and the count and totals at the end', async () => {
    const file = await writeExceptionsJson(input);
    const doc = JSON.parse(readFileSync(file.path, 'utf8')) as {
      report: string;
      run_id: string;
      exceptions: Record<string, unknown>[];
      count: number;
      totals: { currency: string; count: number; amount: string }[];
    };
    expect(doc.report).toBe('exceptions');
    expect(doc.run_id).toBe(runId);
    expect(doc.count).toBe(N + 2);
    expect(doc.exceptions).toHaveLength(N + 2);
    expect(doc.exceptions.find((e) => e.item_id === 'ERP:BIG')).toMatchObject({
      amount: '123456789012345678.91',
      evidence: { note: 'comma, "quote"\nnew line' },
      status: 'open',
      accepted: false,
      a_items: [],
      amount_a: null,
    });
    expect(doc.totals.find((t) => t.currency === 'EUR')).toEqual({
      currency: 'EUR',
      count: N + 1,
      amount: minorToString(eurCents, 2),
      difference: expect.any(String),
    });
  });

  it('leaves no file, complete or partial, when writing fails half-way, and keeps an earlier complete one', async () => {
    const before = await writeExceptionsCsv(input);
    const failing = failingAfterFirstBatch(store);
    for (const write of [writeExceptionsCsv, writeExceptionsXlsx, writeExceptionsJson]) {
      const otherDir = mkdtempSync(join(tmpdir(), 'finflow-reports-fail-'));
      await expect(write({ ...input, store: failing, dir: otherDir })).rejects.toThrow('connection lost');
      expect(readdirSync(otherDir)).toEqual([]);
      rmSync(otherDir, { recursive: true });
    }
    await expect(writeExceptionsCsv({ ...input, store: failing })).rejects.toThrow('connection lost');
    expect(sha(before.path)).toBe(before.sha256);
    noTempFiles();
  });

  it('seals every report with the data key on its way to disk: no clear byte, same bytes once opened, nothing left on failure', async () => {
    const sealedDir = mkdtempSync(join(tmpdir(), 'finflow-reports-sealed-'));
    const seal = new DatasetCipher('recon:ACME:2026-10:gl-vs-erp', randomBytes(32));
    try {
      for (const write of [writeExceptionsCsv, writeExceptionsJson, writeSummaryCsv, writeSummaryJson]) {
        const clear = await write(input);
        const sealed = await write({ ...input, dir: sealedDir, seal });
        expect(sealed.path).toBe(join(sealedDir, `${basename(clear.path)}.sealed`));
        expect(sealed.rows).toBe(clear.rows);
        expect(sealed.sha256).toBe(sha(sealed.path));
        const bytes = readFileSync(sealed.path);
        expect(bytes.includes('ACC-')).toBe(false);
        expect(bytes.includes('gl-vs-erp,')).toBe(false);
        const parts: Buffer[] = [];
        for await (const p of openSealedFile(sealed.path, seal)) parts.push(p);
        expect(Buffer.concat(parts).equals(readFileSync(clear.path))).toBe(true);
      }
      const xlsx = await writeExceptionsXlsx({ ...input, dir: sealedDir, seal });
      const opened = join(sealedDir, 'opened.xlsx');
      await unsealFile(xlsx.path, opened, seal);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.readFile(opened);
      expect(wb.getWorksheet('Exceptions')!.rowCount).toBe(xlsx.rows + 1);

      const failing = failingAfterFirstBatch(store);
      for (const write of [writeExceptionsCsv, writeExceptionsXlsx, writeExceptionsJson]) {
        const otherDir = mkdtempSync(join(tmpdir(), 'finflow-reports-sealed-fail-'));
        await expect(write({ ...input, store: failing, dir: otherDir, seal })).rejects.toThrow('connection lost');
        expect(readdirSync(otherDir)).toEqual([]);
        rmSync(otherDir, { recursive: true });
      }
    } finally {
      seal.dispose();
      rmSync(sealedDir, { recursive: true, force: true });
    }
  });

  it('writes the summary workbook: the run, its control totals and exact sums per category', async () => {
    const file = await writeSummaryXlsx(input);
    expect(file.path).toBe(join(dir, 'gl-vs-erp_summary_2026-10-31.xlsx'));
    expect(file.sha256).toBe(sha(file.path));
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file.path);
    const lines = new Map<string, unknown>();
    wb.getWorksheet('Summary')!.eachRow((row, n) => {
      if (n > 1) lines.set(String(row.getCell(1).value), row.getCell(2).value);
    });
    expect(lines.get('Reconciliation')).toBe('gl-vs-erp');
    expect(lines.get('Run')).toBe(runId);
    expect(lines.get('Status')).toBe('exceptions');
    expect(lines.get('Definition hash')).toBe('sha256:def');
    expect(lines.get('summary.a.records')).toBe(1000000);
    expect(lines.get('summary.a.amount')).toBe('98765432109876.55');
    expect(lines.get('summary.keys.matched')).toBe(990000);
    expect(lines.get('summary.balanced')).toBe(false);

    const cats = wb.getWorksheet('By category')!;
    const rows = (cats.getSheetValues().slice(2) as unknown[][]).map((r) => r.slice(1));
    const totals = await store.exceptionTotals(runId);
    expect(rows.filter((r) => r[0] !== 'TOTAL')).toHaveLength(totals.length);
    const totalB = rows.find((r) => r[0] === 'TOTAL' && r[1] === 'b' && r[2] === 'EUR')!;
    let bCents = 0n;
    for (const x of [...exceptions(N), SPECIAL[0]]) if (x.side === 'b') bCents += cents(x.amount!);
    expect(String(totalB[7])).toBe(minorToString(bCents, 2));
    const explained = rows.filter((r) => r[0] !== 'TOTAL').reduce((s, r) => s + Number(r[5]), 0);
    expect(explained).toBe(1);
  });

  it('writes the summary as CSV and JSON with the same exact sums', async () => {
    const csv = await writeSummaryCsv(input);
    const records = parse(readFileSync(csv.path), { bom: true, columns: true }) as Record<string, string>[];
    const totals = await store.exceptionTotals(runId);
    expect(records.filter((r) => r.category !== 'TOTAL')).toHaveLength(totals.length);
    expect(csv.rows).toBe(totals.length);
    const sumEur = records
      .filter((r) => r.category === 'TOTAL' && r.currency === 'EUR')
      .reduce((s, r) => s + cents(r.amount), 0n);
    expect(sumEur).toBe(eurCents);
    expect(records.every((r) => r.run_id === runId && r.date === '2026-10-31')).toBe(true);

    const json = await writeSummaryJson(input);
    const doc = JSON.parse(readFileSync(json.path, 'utf8')) as {
      run: { status: string; runId: string };
      summary: unknown;
      categories: unknown[];
      totals: { side: string; currency: string; amount: string }[];
    };
    expect(doc.run).toMatchObject({ status: 'exceptions', runId });
    expect(doc.summary).toEqual({
      a: { records: 1000000, amount: '98765432109876.55' },
      keys: { matched: 990000 },
      balanced: false,
    });
    expect(doc.categories).toHaveLength(totals.length);
    expect(doc.totals.filter((t) => t.currency === 'EUR').reduce((s, t) => s + cents(t.amount), 0n)).toBe(eurCents);
  });

  it('refuses a summary for a run the store does not know', async () => {
    await expect(writeSummaryJson({ ...input, runId: 'recon:none/x' })).rejects.toMatchObject({
      type: 'RunNotStarted',
    });
  });
});
