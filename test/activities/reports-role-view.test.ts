// Views of a report for roles: the clear report (written by the real report writers from a real result store) masked
// per the security policy, in each format; what a role may not see must not be anywhere in its view's bytes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { Pool } from 'pg';
import {
  type ReportFile,
  type ReportInput,
  writeExceptionsCsv,
  writeExceptionsJson,
  writeExceptionsXlsx,
  writeSummaryXlsx,
} from '../../activities/reports';
import { roleView, viewFormatOf, WITHHELD } from '../../activities/reports/role-view';
import { createResultStore } from '../../activities/result-store';
import { parseSecurityPolicy } from '../../domain/security/policy';
import { freshDatabase } from '../helpers/postgres';
import { seedPolicy, seedPolicyInput } from '../unit/security-fixture';

const IBAN = 'DE89370400440532013000';
const OTHER_IBAN = 'GB82WEST12345698765432';
// The seed's policy, with the bank's amounts confidential: managers and directors see them, accountants do not.
const policy = parseSecurityPolicy({
  ...seedPolicyInput,
  fields: { ...seedPolicyInput.fields, 'bank.amount': 'confidential' },
});

let pool: Pool;
let dir: string;
const written: Record<'xlsx' | 'csv' | 'json', ReportFile> = {} as never;
let summary: ReportFile;

beforeAll(async () => {
  pool = new Pool({ connectionString: await freshDatabase('role_view'), max: 2 });
  const store = createResultStore({ pool });
  await store.migrate();
  const { runId } = await store.startRun({
    workflowId: 'recon:ACME:2026-10:bank',
    workflowRunId: 'r1',
    reconId: 'bank',
    definitionHash: 'sha256:def',
  });
  await store.writeExceptions(runId, [
    {
      itemId: 'BANK:1',
      side: 'a',
      key: IBAN,
      category: 'missing_in_b',
      currency: 'EUR',
      amount: '-1234.56',
      evidence: { account_number: IBAN, bank_name: 'Deutsche Bank' },
    },
    { itemId: 'BANK:2', side: 'a', key: 'REF-77', category: 'amount_mismatch', currency: 'EUR', amount: '10.00' },
  ]);
  await store.explainException(runId, 'BANK:2', { explanation: `paid from ${OTHER_IBAN} by mistake`, by: 'ap' });
  await store.finishRun(runId, { status: 'exceptions', summary: { balanced: false } });
  dir = mkdtempSync(join(tmpdir(), 'finflow-role-view-'));
  const input: ReportInput = { store, runId, reconId: 'bank', date: '2026-10-31', dir };
  written.xlsx = await writeExceptionsXlsx(input);
  written.csv = await writeExceptionsCsv(input);
  written.json = await writeExceptionsJson(input);
  summary = await writeSummaryXlsx(input);
});

afterAll(async () => {
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
});

/** Every text of a view, whatever its format (cells of every sheet for xlsx). */
async function textOf(format: 'xlsx' | 'csv' | 'json', bytes: Buffer): Promise<string> {
  if (format !== 'xlsx') return bytes.toString('utf8');
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(bytes as unknown as ArrayBuffer);
  const cells: string[] = [];
  wb.eachSheet((ws) => ws.eachRow((r) => r.eachCell((c) => cells.push(String(c.text)))));
  return cells.join('\n');
}

describe('a report viewed for roles', () => {
  it.each(['xlsx', 'csv', 'json'] as const)(
    'shows an auditor the %s exceptions without account numbers, bank amounts or anything else restricted',
    async (format) => {
      const clear = readFileSync(written[format].path);
      expect(await textOf(format, clear)).toContain(IBAN);
      const view = await roleView(format, clear, policy, ['auditor']);
      const text = await textOf(format, view.bytes);
      for (const secret of [IBAN, OTHER_IBAN, '1234.56', '-1,234.56']) expect(text).not.toContain(secret);
      // Partially masked: the last four characters of an account number, nothing more.
      expect(text).toContain('3000');
      expect(text).toContain('5432');
      expect(text).toContain('REF-77');
      expect(text).toContain('Deutsche Bank'); // internal: auditors may read it
      // Sheets name their columns for people ("Amount"); the policy's field names match them loosely.
      expect(view.masked.map((f) => f.toLowerCase())).toEqual(expect.arrayContaining(['amount', 'account_number']));
      // Every sheet of the workbook passes through the masking: the totals line, the two exceptions, and each of
      // them again on its category's sheet.
      expect(view.rows).toBe(format === 'xlsx' ? 5 : 2);
    },
  );

  it.each(['xlsx', 'csv', 'json'] as const)(
    'shows a manager the bank amounts of the %s exceptions but not the account numbers, and a director both',
    async (format) => {
      const clear = readFileSync(written[format].path);
      const manager = await textOf(format, (await roleView(format, clear, policy, ['manager'])).bytes);
      expect(manager).toMatch(/1,?234\.56/);
      expect(manager).not.toContain(IBAN);
      expect(manager).not.toContain(OTHER_IBAN);
      const director = await roleView(format, clear, policy, ['director']);
      const text = await textOf(format, director.bytes);
      expect(text).toContain(IBAN);
      expect(text).toContain(OTHER_IBAN);
      expect(director.masked).toEqual([]);
      expect(director.revealed.map((f) => f.toLowerCase())).toEqual(
        expect.arrayContaining(['amount', 'account_number']),
      );
    },
  );

  it('withholds a field from a role outside its access list when the policy masks nothing', async () => {
    const strict = parseSecurityPolicy({
      ...seedPolicyInput,
      classifications: {
        ...seedPolicyInput.classifications,
        confidential: { encryption: true, masking: 'none', access: ['manager'] },
      },
      fields: { ...seedPolicyInput.fields, 'bank.amount': 'confidential' },
    });
    const view = await roleView('csv', readFileSync(written.csv.path), strict, ['accountant']);
    const text = view.bytes.toString('utf8');
    expect(view.withheld).toContain('amount');
    expect(text).toContain(WITHHELD);
    expect(text).not.toContain('1234.56');
  });

  it.each(['xlsx', 'csv', 'json'] as const)(
    'treats the data columns of a %s report classified restricted at that level: keys and amounts masked for an auditor, clear for a director',
    async (format) => {
      const clear = readFileSync(written[format].path);
      // By name and pattern alone a reference like REF-77 is nobody's secret; the report's source says otherwise.
      expect(await textOf(format, (await roleView(format, clear, policy, ['auditor'])).bytes)).toContain('REF-77');
      const auditor = await roleView(format, clear, policy, ['auditor'], 'restricted');
      const text = await textOf(format, auditor.bytes);
      for (const secret of ['REF-77', IBAN, OTHER_IBAN, '1234.56', 'Deutsche Bank', 'by mistake'])
        expect(text).not.toContain(secret);
      expect(text).toContain('missing_in_b'); // categories, sides and statuses are the report's own
      expect(auditor.masked.map((f) => f.toLowerCase().replace(/[^a-z]/g, ''))).toEqual(
        expect.arrayContaining(['key', 'explanation']),
      );
      const director = await textOf(format, (await roleView(format, clear, policy, ['director'], 'restricted')).bytes);
      expect(director).toContain('REF-77');
      expect(director).toContain(IBAN);
      // Internal data is open to auditors in the seed's policy.
      expect(await textOf(format, (await roleView(format, clear, policy, ['auditor'], 'internal')).bytes)).toContain(
        'REF-77',
      );
    },
  );

  it.each(['xlsx', 'csv', 'json'] as const)(
    "treats each side's own columns of a %s report at that side's level and the shared ones at the stricter",
    async (format) => {
      const clear = readFileSync(written[format].path);
      // Side a (the bank) restricted, side b (the ledger) internal: the auditor may see internal data only. The
      // seed's own policy (no field rule names the amount).
      const policy = seedPolicy();
      const sides = { a: 'restricted', b: 'internal' } as const;
      const bankSide = await textOf(
        format,
        (await roleView(format, clear, policy, ['auditor'], 'restricted', sides)).bytes,
      );
      // Both exceptions are the bank's (side a): their amounts, keys, evidence and explanations stay masked.
      for (const secret of ['REF-77', IBAN, OTHER_IBAN, '1234.56', 'Deutsche Bank', 'by mistake'])
        expect(bankSide).not.toContain(secret);
      // The same report with the sides the other way round: the exceptions' own amounts are the internal side's
      // (in clear for the auditor), the shared key and explanation are still at the stricter level.
      const swapped = await roleView(format, clear, policy, ['auditor'], 'restricted', {
        a: 'internal',
        b: 'restricted',
      });
      const text = await textOf(format, swapped.bytes);
      expect(text).toContain('1234.56');
      for (const secret of ['REF-77', IBAN, OTHER_IBAN, 'by mistake']) expect(text).not.toContain(secret);
      // Sides alone (no overall level): the stricter side's level is the shared columns'.
      const sidesOnly = await textOf(
        format,
        (await roleView(format, clear, policy, ['auditor'], undefined, sides)).bytes,
      );
      expect(sidesOnly).not.toContain('REF-77');
    },
  );

  it('masks the label/value lines of the summary workbook and keeps its category table', async () => {
    const view = await roleView('xlsx', readFileSync(summary.path), policy, ['auditor']);
    const text = await textOf('xlsx', view.bytes);
    expect(text).toContain('missing_in_b');
    expect(text).not.toContain('1234.56');
  });

  it('tells the format from the report name, sealed or not, and refuses other files', () => {
    expect(viewFormatOf('bank_exceptions_2026-10-31.xlsx.sealed')).toBe('xlsx');
    expect(viewFormatOf('bank_summary_2026-10-31.json')).toBe('json');
    expect(() => viewFormatOf('notes.txt')).toThrow(/not an xlsx, csv or json report/);
  });
});
