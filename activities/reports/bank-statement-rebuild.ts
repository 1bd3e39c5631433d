// The bank reconciliation statement rebuilt after people worked the exceptions (issue 17): the statement a run wrote
// lists every item as the run left it, while accountants then explain items (as bank_error, book_error, ...),
// resolve them or decide suggested matches in the result store. The balances do not change (the bank's closing
// balance, the books' balance at period end): they are read back from the statement the run wrote; the items are read
// again from the run's exceptions as they stand now (bank-statement-run.ts), and the four files are written anew into
// another directory, so the statement the close recorded (and its SHA-256) stays as it was.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Side } from '../../domain/recon/definition';
import type { BankReconciliationStatement, StatementBalance } from '../../domain/recon/bank-statement';
import type { ResultStore } from '../result-store';
import { writeBankStatementReports, type BankStatementReports } from './bank-statement';
import { bankStatementOfRun } from './bank-statement-run';

export class StatementRebuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatementRebuildError';
  }
}

export interface RebuildStatementInput {
  /** The result-store run whose exceptions the statement lists. */
  runId: string;
  /** The statement JSON the run wrote: `<reconId>_bank-statement_<period end>.json`. */
  statementPath: string;
  /** Where the rebuilt files go (not the run's report folder: the close names the files written there). */
  outDir: string;
  /** Which side is the bank; needed only when the written statement lists no bank item to tell it by. */
  bankSide?: Side;
}

export interface RebuiltStatement {
  statement: BankReconciliationStatement;
  /** The statement as the run wrote it. */
  before: BankReconciliationStatement;
  files: BankStatementReports;
}

const NAME = /^(.+)_bank-statement_(\d{4}-\d{2}-\d{2})\.json$/;

function balanceOf(v: unknown, where: string): StatementBalance {
  const b = v as Partial<StatementBalance> | undefined;
  if (typeof b?.amount !== 'string' || typeof b.source !== 'string')
    throw new StatementRebuildError(`${where}: expected { amount: "<decimal>", source: "..." }`);
  return { amount: b.amount, source: b.source, ...(b.date !== undefined ? { date: b.date } : {}) };
}

/** The statement JSON a run wrote, checked field by field (errors name the file and the field). */
async function readWritten(path: string): Promise<{ reconId: string; s: BankReconciliationStatement }> {
  const m = NAME.exec(basename(path));
  if (path.endsWith('.sealed'))
    throw new StatementRebuildError(`${path} is sealed: open it with finflow evidence open, then rebuild from the copy`);
  if (!m) throw new StatementRebuildError(`${path} is not a bank statement JSON (<recon>_bank-statement_<date>.json)`);
  let s: BankReconciliationStatement;
  try {
    s = JSON.parse(await readFile(path, 'utf8')) as BankReconciliationStatement;
  } catch (err) {
    throw new StatementRebuildError(`${path}: ${(err as Error).message}`);
  }
  if (typeof s.currency !== 'string' || !/^[A-Z]{3}$/.test(s.currency))
    throw new StatementRebuildError(`${path}: field currency is not a currency code`);
  if (s.period_end !== m[2])
    throw new StatementRebuildError(`${path}: field period_end ${String(s.period_end)} is not the file's date ${m[2]}`);
  if (!Number.isInteger(s.scale)) throw new StatementRebuildError(`${path}: field scale is not a whole number`);
  if (!Array.isArray(s.items)) throw new StatementRebuildError(`${path}: field items is not a list`);
  balanceOf(s.balance_per_bank, `${path}: field balance_per_bank`);
  balanceOf(s.balance_per_books, `${path}: field balance_per_books`);
  return { reconId: m[1], s };
}

/**
 * Rebuilds the statement of run `runId` from the exceptions as they stand now, with the balances of the statement
 * the run wrote, into `outDir`. Refused, naming the file and field, when the written statement is sealed, misnamed
 * or incomplete, when the run is not in the store, or when which side is the bank cannot be told. That the statement
 * is this run's is checked only as far as record ids tell (a bank id of the statement is a bank record of the run):
 * give the statement the run wrote.
 */
export async function rebuildBankStatement(
  store: Pick<ResultStore, 'streamExceptions' | 'getRun'>,
  input: RebuildStatementInput,
): Promise<RebuiltStatement> {
  const { reconId, s: before } = await readWritten(input.statementPath);
  if ((await store.getRun(input.runId)) === undefined)
    throw new StatementRebuildError(`the result store holds no run ${input.runId}`);
  const input0 = {
    currency: before.currency,
    scale: before.scale,
    account: before.account ?? null,
    period_end: before.period_end,
    balance_per_bank: balanceOf(before.balance_per_bank, 'balance_per_bank'),
    balance_per_books: balanceOf(before.balance_per_books, 'balance_per_books'),
  };
  // Which side is the bank: the one whose records the written statement lists as the bank's. A pass with side a (or
  // the side given) lists side a's records as the bank's and side b's as the books'.
  const probeSide: Side = input.bankSide ?? 'a';
  const probe = await bankStatementOfRun(store, input.runId, { ...input0, bank_side: probeSide });
  const written = before.items.flatMap((i) => i.bank_ids);
  const asBank = new Set(probe.items.flatMap((i) => i.bank_ids));
  const asBooks = new Set(probe.items.flatMap((i) => i.book_ids));
  const other: Side = probeSide === 'a' ? 'b' : 'a';
  const inBank = written.some((id) => asBank.has(id));
  const inBooks = written.some((id) => asBooks.has(id));
  let side: Side | undefined = inBank && !inBooks ? probeSide : inBooks && !inBank ? other : undefined;
  if (written.length === 0) side = input.bankSide;
  else if (side === undefined)
    throw new StatementRebuildError(
      `${input.statementPath}: its bank items are records of both sides of run ${input.runId} (another run's statement?)`,
    );
  else if (input.bankSide !== undefined && side !== input.bankSide)
    throw new StatementRebuildError(
      `${input.statementPath} lists side ${side}'s records as the bank's, not side ${input.bankSide}'s (--bank-side)`,
    );
  if (side === undefined)
    throw new StatementRebuildError(
      `${input.statementPath} lists no bank item to tell which side is the bank: say it (--bank-side a|b)`,
    );
  const statement =
    side === probeSide ? probe : await bankStatementOfRun(store, input.runId, { ...input0, bank_side: side });
  const files = await writeBankStatementReports(statement, input.outDir, reconId);
  return { statement, before, files };
}
