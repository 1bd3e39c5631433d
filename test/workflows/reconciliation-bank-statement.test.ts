// A bank reconciliation run through the reconciliation workflow (real Temporal test server, result store in
// PostgreSQL): an MT940 statement against the GL cash account in a CSV export, keyed by currency alone, whose
// definition asks for the bank reconciliation statement. The statement is written beside the run's other reports,
// from the file's closing balance and the GL's opening balance plus its lines, and agrees.
import { readFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { ReconciliationDefinitionInput } from '../../domain/recon';
import type { BankReconciliationStatement } from '../../domain/recon/bank-statement';
import type { ReconciliationInput, ReconciliationSummary } from '../../contracts';
import type { reconciliationWorkflow } from '../../workflows';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
let workDir: string;
let reportsDir: string;
let bankFile: string;
let glFile: string;

// October 2026. The bank opened at 1,000.00: a customer's 500.00 in, a supplier's 200.00 out (booked by the GL the
// day before), a 2.50 fee the GL has not booked; it closed at 1,297.50. The GL opened at 1,000.00 too and also holds
// a cheque of 150.00 the bank has not paid yet and a 300.00 deposit of 31 October the bank has not credited yet.
const MT940 = [
  ':20:STMT2610',
  ':25:NL00BANK0123456789',
  ':28C:10/1',
  ':60F:C260930EUR1000,00',
  ':61:261005C500,00NTRFNONREF',
  ':86:CUSTOMER PAYMENT INV-100001',
  ':61:261012D200,00NTRFNONREF',
  ':86:SUPPLIER PAYMENT',
  ':61:261020D2,50NMSCNONREF',
  ':86:ACCOUNT FEE OCTOBER',
  ':62F:C261031EUR1297,50',
  '-',
  '',
].join('\r\n');
const GL = [
  'doc,posted,amount,description',
  'D1,2026-10-05,500.00,customer receipt INV-100001',
  'D2,2026-10-11,-200.00,supplier payment',
  'D3,2026-10-30,-150.00,CHK 500123 supplier',
  'D4,2026-10-31,300.00,cash receipt',
  '',
].join('\n');

function definition(
  statement: Record<string, string>,
  bankSource?: { connector: string; path: string },
  month: { gl: string; periodEnd: string } = { gl: glFile, periodEnd: '2026-10-31' },
): ReconciliationDefinitionInput {
  return {
    id: 'bank-vs-gl',
    a: {
      name: 'BANK',
      source: bankSource ?? { connector: 'mt940', path: bankFile },
      classification: 'confidential',
      key_fields: ['currency'],
      value_fields: ['amount'],
      date_field: 'booking_date',
      currency_field: 'currency',
    },
    b: {
      name: 'GL',
      source: { connector: 'csv', path: month.gl },
      classification: 'confidential',
      key_fields: ['ccy'],
      value_fields: ['amount'],
      date_field: 'posted',
      currency: 'EUR',
      id_field: 'doc',
      transformations: [{ op: 'default', field: 'ccy', value: 'EUR' }],
    },
    rules: [
      { id: 'same-day', type: 'exact', compare_date: true },
      { id: 'window', type: 'date_window', days: 3 },
    ],
    categorisation: {
      bank: {
        bank_side: 'a',
        fee_field: 'description',
        fee_pattern: '\\bFEE\\b',
        check_field: 'description',
        check_pattern: '^CHK\\b',
        period_end: month.periodEnd,
        in_transit_days: 2,
        statement,
      },
    },
  };
}

beforeAll(async () => {
  const pgUrl = await freshDatabase('recon_bank_statement');
  systems = systemsFromEnv({ DATABASE_URL: pgUrl });
  workDir = await mkdtemp(join(tmpdir(), 'finflow-bank-work-'));
  reportsDir = await mkdtemp(join(tmpdir(), 'finflow-bank-reports-'));
  bankFile = join(workDir, 'bank-2026-10.sta');
  glFile = join(workDir, 'gl-cash-2026-10.csv');
  await writeFile(bankFile, MT940);
  await writeFile(glFile, GL);
  await workflowBundle();
}, 180_000);

jest.setTimeout(120_000);

freshTimeSkippingServerPerTest((e) => (env = e));

afterAll(async () => {
  await systems?.close();
});

async function run(input: Partial<ReconciliationInput>): Promise<ReconciliationSummary> {
  const taskQueue = uniqueId('recon-bank');
  const worker = await Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      activities: createActivities({ systems, recon: { workDir, reportsDir } }),
    }),
  );
  return worker.runUntil(
    env.client.workflow.execute<typeof reconciliationWorkflow>('reconciliationWorkflow', {
      taskQueue,
      workflowId: uniqueId('recon:ACME:2026-10:bank-vs-gl'),
      args: [{ company: 'ACME', period: '2026-10', reconId: 'bank-vs-gl', ...input }],
    }),
  );
}

describe('reconciliationWorkflow, a bank reconciliation that asks for its statement', () => {
  it('writes the statement beside the run’s other reports, and its adjusted balances agree', async () => {
    const summary = await run({ definition: definition({ books_opening_balance: '1000.00' }) });
    expect(summary.matches).toBe(2);
    const reports = summary.reports ?? [];
    const statements = reports.filter((r) => r.kind === 'bank_statement');
    expect(statements.map((r) => basename(r.path)).sort()).toEqual([
      'bank-vs-gl_bank-statement_2026-10-31.html',
      'bank-vs-gl_bank-statement_2026-10-31.json',
      'bank-vs-gl_bank-statement_2026-10-31.pdf',
      'bank-vs-gl_bank-statement_2026-10-31.xlsx',
    ]);
    const exceptions = reports.find((r) => r.kind === 'exceptions' && r.format === 'xlsx');
    for (const r of statements) expect(dirname(r.path)).toBe(dirname(exceptions!.path));

    const json = statements.find((r) => r.format === 'json')!;
    const s = JSON.parse(await readFile(json.path, 'utf8')) as BankReconciliationStatement;
    expect(s.balance_per_bank).toMatchObject({ amount: '1297.50', date: '2026-10-31' });
    expect(s.balance_per_bank.source).toMatch(/^bank-2026-10\.sta 62F \(line \d+\)$/);
    expect(s.balance_per_books).toMatchObject({ amount: '1450.00' });
    expect(s.balance_per_books.source).toBe('opening balance 1000.00 + 4 book records of the run');
    // 1,297.50 + 300.00 in transit - 150.00 outstanding = 1,447.50 = 1,450.00 - 2.50 fee.
    expect(s.adjusted_balance_per_bank).toBe('1447.50');
    expect(s.adjusted_balance_per_books).toBe('1447.50');
    expect(s.agrees).toBe(true);
    expect(s.unexplained_difference).toBe('0.00');
    expect(s.items.map((i) => `${i.kind} ${i.amount}`).sort()).toEqual([
      'bank_fee -2.50',
      'deposit_in_transit 300.00',
      'outstanding_check -150.00',
    ]);
    expect(await readFile(statements.find((r) => r.format === 'html')!.path, 'utf8')).toContain('1447.50');
    const pdf = await readFile(statements.find((r) => r.format === 'pdf')!.path);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('shows the unexplained difference when the books balance given does not reconcile', async () => {
    const summary = await run({ definition: definition({ balance_per_books: '1460.00' }) });
    const json = (summary.reports ?? []).find((r) => r.kind === 'bank_statement' && r.format === 'json')!;
    const s = JSON.parse(await readFile(json.path, 'utf8')) as BankReconciliationStatement;
    expect(s.balance_per_books).toEqual({ amount: '1460.00', source: 'given in the definition' });
    expect(s.agrees).toBe(false);
    expect(s.unexplained_difference).toBe('-10.00');
  });

  it('lists in the next period neither the items that cleared nor the records that cleared them, only what is still open', async () => {
    // November, for another company (its own runs only roll forward): October's run as in the first test, then the
    // bank pays the cheque (-150.00) and credits the deposit (300.00) on 2 November, and both books and bank take a
    // 100.00 receipt on 10 November. The October fee is still not in the books.
    const company = 'GLOBEX';
    await run({ company, definition: definition({ books_opening_balance: '1000.00' }) });
    const novBank = join(workDir, 'bank-2026-11.sta');
    const novGl = join(workDir, 'gl-cash-2026-11.csv');
    await writeFile(
      novBank,
      [
        ':20:STMT2611',
        ':25:NL00BANK0123456789',
        ':28C:11/1',
        ':60F:C261031EUR1297,50',
        ':61:261102D150,00NCHKNONREF',
        ':86:CHEQUE 500123',
        ':61:261102C300,00NTRFNONREF',
        ':86:CASH DEPOSIT',
        ':61:261110C100,00NTRFNONREF',
        ':86:CUSTOMER PAYMENT',
        ':62F:C261130EUR1547,50',
        '-',
        '',
      ].join('\r\n'),
    );
    await writeFile(novGl, ['doc,posted,amount,description', 'N1,2026-11-10,100.00,customer receipt', ''].join('\n'));
    const summary = await run({
      company,
      period: '2026-11',
      definition: definition(
        { books_opening_balance: '1450.00' },
        { connector: 'mt940', path: novBank },
        {
          gl: novGl,
          periodEnd: '2026-11-30',
        },
      ),
    });
    expect(summary.rollForward).toMatchObject({ cleared: { count: 2 }, carried: { count: 1 } });
    const json = (summary.reports ?? []).find((r) => r.kind === 'bank_statement' && r.format === 'json')!;
    expect(basename(json.path)).toBe('bank-vs-gl_bank-statement_2026-11-30.json');
    const s = JSON.parse(await readFile(json.path, 'utf8')) as BankReconciliationStatement;
    expect(s.balance_per_bank.amount).toBe('1547.50');
    expect(s.balance_per_books.amount).toBe('1550.00');
    // Only October's fee, carried in: 1,547.50 = 1,550.00 - 2.50.
    expect(s.items.map((i) => `${i.kind} ${i.category} ${i.amount}`)).toEqual(['bank_fee bank_fee -2.50']);
    expect(s.agrees).toBe(true);
  });

  it('is refused as an invalid definition, naming the side and its reader, when no closing balance can be had', async () => {
    const failure = await run({
      definition: definition({ books_opening_balance: '1000.00' }, { connector: 'csv', path: glFile }),
    }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe('InvalidDefinition');
    expect(cause.message).toMatch(/needs the balance per bank: side a is read by csv/);
  });
});
