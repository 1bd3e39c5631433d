// The bank reconciliation statement of a run already in the result store: its exceptions, read in batches, are the
// reconciling items (accepted ones carry a difference a rule accepted; explained and resolved ones still separate the
// two balances, so every status counts; one a person explained as a bank or book error is listed as such). The balances come from the caller: the bank's from the statement file
// (connectors/closing-balance.ts), the books' given or summed.
// Except what roll-forward settled (issue 15): a previous period's item this period's data cleared (a cheque the
// bank has now paid) and this period's record that cleared it are both in the two balances already, so neither is a
// reconciling item; items carried in still outstanding are.
import {
  bankReconciliationStatement,
  type BankReconciliationStatement,
  type BankStatementInput,
  type StatementException,
} from '../../domain/recon/bank-statement';
import { ROLL_FORWARD_ACTOR } from '../../domain/exceptions/roll-forward';
import type { ExceptionRow, ResultStore } from '../result-store';

export function statementException(row: ExceptionRow): StatementException {
  return {
    id: row.itemId,
    category: row.category,
    open: !row.accepted,
    currency: row.currency ?? '',
    a: row.aItems,
    b: row.bItems,
    amount_a: row.amountA ?? '0',
    amount_b: row.amountB ?? '0',
    reason_code: row.reasonCode,
  };
}

export async function bankStatementOfRun(
  store: Pick<ResultStore, 'streamExceptions'>,
  runId: string,
  input: Omit<BankStatementInput, 'exceptions'>,
  batchSize = 10_000,
): Promise<BankReconciliationStatement> {
  const exceptions: StatementException[] = [];
  for await (const batch of store.streamExceptions(runId, { batchSize }))
    for (const row of batch)
      if (!(row.status === 'resolved' && row.resolvedBy?.startsWith(ROLL_FORWARD_ACTOR)))
        exceptions.push(statementException(row));
  return bankReconciliationStatement({ ...input, exceptions });
}
