// The bank reconciliation statement as a run's report refuses, naming what is wrong and without retrying, what it
// cannot state: a run of several currencies, a run summary without control totals, a statement file without a
// closing balance. (The written statement itself: test/workflows/reconciliation-bank-statement.test.ts.)
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { writeRunBankStatement } from '../../activities/recon/bank-statement-report';
import type { ReportInput } from '../../activities/reports';
import type { BankStatementRequest } from '../../domain/recon/bank-statement-request';

let dir: string;
// The run's files directory and dates, which a statement file's path is rendered with.
const paths = () => ({ filesDir: dir, asOf: '2026-10-31', period: '2026-10' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'finflow-bank-report-'));
});

const side = (...currencies: string[]) => ({
  records_in: 1,
  records_matched: 0,
  records_unmatched: 1,
  amounts: currencies.map((currency) => ({
    currency,
    amount_in: '10.00',
    amount_matched: '0.00',
    amount_unmatched: '10.00',
  })),
});

function request(bankSource: Record<string, unknown>): BankStatementRequest {
  return {
    bank_side: 'a',
    period_end: '2026-10-31',
    bank_source: bankSource,
    books_opening_balance: '0',
    currency_decimals: {},
  };
}

// The refusals come before the run's exceptions are read: a store that is never asked for them.
const base = (): ReportInput =>
  ({
    store: {
      streamExceptions() {
        throw new Error('the store was read');
      },
    },
    runId: 'run-1',
    reconId: 'bank-vs-gl',
    date: '2026-10-31',
    dir,
  }) as unknown as ReportInput;

async function refusal(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect((err as ApplicationFailure).type).toBe('InvalidReport');
  expect((err as ApplicationFailure).nonRetryable).toBe(true);
  return err as ApplicationFailure;
}

describe('the bank reconciliation statement of a run refuses', () => {
  it('a run holding several currencies: one statement per bank account and currency', async () => {
    const run = {
      runId: 'run-1',
      reconId: 'bank-vs-gl',
      summary: { totals: { a: side('EUR', 'USD'), b: side('EUR') } },
    };
    const err = await refusal(writeRunBankStatement(request({ connector: 'mt940', path: 'x' }), run, base(), paths()));
    expect(err.message).toMatch(/one statement per bank account and currency; the run holds EUR, USD/);
  });

  it('a run summary without control totals', async () => {
    const run = { runId: 'run-1', reconId: 'bank-vs-gl', summary: {} };
    const err = await refusal(writeRunBankStatement(request({ connector: 'mt940', path: 'x' }), run, base(), paths()));
    expect(err.message).toMatch(/no control totals/);
  });

  it('a bank side that names no file, and a statement file without its closing balance, naming file, line and field', async () => {
    const run = { runId: 'run-1', reconId: 'bank-vs-gl', summary: { totals: { a: side('EUR'), b: side('EUR') } } };
    const noPath = await refusal(writeRunBankStatement(request({ connector: 'mt940' }), run, base(), paths()));
    expect(noPath.message).toMatch(/side a names no statement file/);
    await writeFile(
      join(dir, 'no-closing.sta'),
      [
        ':20:STMT',
        ':25:NL00BANK0123456789',
        ':28C:1/1',
        ':60F:C260930EUR0,00',
        ':61:261005C10,00NTRFNONREF',
        '-',
        '',
      ].join('\r\n'),
    );
    // A relative path is read from the worker's files directory.
    const err = await refusal(
      writeRunBankStatement(request({ connector: 'statement', path: 'no-closing.sta' }), run, base(), paths()),
    );
    expect(err.message).toMatch(/no-closing\.sta line 1, field 62F: statement starting here has no field 62F/);
    // The path is rendered for the run as the extraction renders it: {period} is the run's.
    await writeFile(join(dir, 'no-closing-2026-10.sta'), await readFile(join(dir, 'no-closing.sta')));
    const rendered = await refusal(
      writeRunBankStatement(request({ connector: 'statement', path: 'no-closing-{period}.sta' }), run, base(), paths()),
    );
    expect(rendered.message).toMatch(/no-closing-2026-10\.sta line 1, field 62F/);
  });
});
