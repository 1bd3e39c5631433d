// The bank reconciliation statement as one of a run's reports (issue 17): for a definition that asks for it
// (categorisation.bank.statement), written beside the exceptions and summary reports, from the run's exceptions in the
// result store, the bank's closing balance (its statement file's, or given) and the balance per books (given, or the
// opening balance plus the book side's records of the run, from the run's control totals).
import { basename } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { BankStatementInputError, bookBalance, type StatementBalance } from '../../domain/recon/bank-statement';
import type { BankStatementRequest } from '../../domain/recon/bank-statement-request';
import type { SideTotals } from '../../domain/recon/control-totals';
import { closingBalanceOf } from '../connectors/closing-balance';
import { SourceDataError } from '../connectors/source-error';
import type { StatementFormat } from '../connectors/statement';
import { parseStatementFile } from '../connectors/statement-file';
import { writeBankStatementReports } from '../reports/bank-statement';
import { bankStatementOfRun } from '../reports/bank-statement-run';
import type { ReportInput } from '../reports';
import { type SourceContext, sourceFilePath } from './sources';

/** What a statement file's path is rendered with: the run's files directory, period and dates. */
type SourcePaths = Pick<SourceContext, 'filesDir' | 'asOf' | 'period' | 'periodStart' | 'periodEnd'>;

export interface RunStatementReport {
  kind: 'bank_statement';
  format: 'json' | 'xlsx' | 'html' | 'pdf';
  path: string;
  sha256: string;
  rows: number;
  sealed?: boolean;
}

function refused(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`bank reconciliation statement: ${message}`, 'InvalidReport');
}

/** The balance per bank: given in the definition, or the closing balance of the bank side's statement file. */
async function balancePerBank(
  req: BankStatementRequest,
  currency: string,
  paths: SourcePaths,
): Promise<StatementBalance> {
  if (req.balance_per_bank !== undefined) return { amount: req.balance_per_bank, source: 'given in the definition' };
  const src = req.bank_source as { connector?: unknown; path?: unknown; encoding?: unknown };
  if (typeof src.path !== 'string') throw refused(`side ${req.bank_side} names no statement file`);
  // The same file the extraction read: placeholders rendered for the run, relative to the files directory.
  const path = sourceFilePath(src.path, paths);
  const format = src.connector === 'statement' ? undefined : (src.connector as StatementFormat);
  const file = await parseStatementFile(
    path,
    format,
    typeof src.encoding === 'string' ? { encoding: src.encoding } : {},
  );
  const b = closingBalanceOf(file, { currency, ...(req.account !== undefined ? { account: req.account } : {}) });
  return { amount: b.amount, source: `${basename(b.source)} ${b.type} (line ${b.line})`, date: b.date };
}

/**
 * Writes `<reconId>_bank-statement_<period end>.{json,xlsx,html,pdf}` into the run's report folder. Refused (not retried)
 * when the run holds several currencies, the statement file gives no single closing balance, or a balance is not a
 * decimal: each names what is wrong.
 */
export async function writeRunBankStatement(
  req: BankStatementRequest,
  run: { runId: string; reconId: string; summary?: unknown },
  base: ReportInput,
  paths: SourcePaths,
): Promise<RunStatementReport[]> {
  const totals = (run.summary as { totals?: { a: SideTotals; b: SideTotals } } | undefined)?.totals;
  if (totals === undefined) throw refused('the run summary has no control totals');
  const books = totals[req.bank_side === 'a' ? 'b' : 'a'];
  const currencies = [...new Set([...totals.a.amounts, ...totals.b.amounts].map((c) => c.currency))];
  if (currencies.length !== 1)
    throw refused(`one statement per bank account and currency; the run holds ${currencies.join(', ') || 'none'}`);
  const currency = currencies[0];
  const scale = req.currency_decimals[currency];
  try {
    const perBank = await balancePerBank(req, currency, paths);
    const booksIn = books.amounts.find((c) => c.currency === currency)?.amount_in ?? '0';
    const perBooks: StatementBalance =
      req.balance_per_books !== undefined
        ? { amount: req.balance_per_books, source: 'given in the definition' }
        : {
            amount: bookBalance(req.books_opening_balance as string, [booksIn], currency, scale),
            source: `opening balance ${req.books_opening_balance} + ${books.records_in} book records of the run`,
          };
    const statement = await bankStatementOfRun(base.store, run.runId, {
      currency,
      ...(scale !== undefined ? { scale } : {}),
      account: req.account ?? null,
      period_end: req.period_end,
      bank_side: req.bank_side,
      balance_per_bank: perBank,
      balance_per_books: perBooks,
    });
    const files = await writeBankStatementReports(statement, base.dir, run.reconId, base);
    return (['json', 'xlsx', 'html', 'pdf'] as const).map((format) => ({
      kind: 'bank_statement',
      format,
      path: files[format].path,
      sha256: files[format].sha256,
      rows: files[format].rows,
      ...(base.seal ? { sealed: true } : {}),
    }));
  } catch (err) {
    if (err instanceof SourceDataError || err instanceof BankStatementInputError) throw refused(err.message);
    throw err;
  }
}
