// What a run's report step needs to write the bank reconciliation statement of a definition that asks for one
// (categorisation.bank.statement, see definition-bank.ts). Pure: the reconciliation workflow builds it from the
// definition and hands it to the report activity, which reads the balances and the run's exceptions.
import type { ReconciliationDefinition } from './definition';

export interface BankStatementRequest {
  bank_side: 'a' | 'b';
  /** categorisation.bank.period_end, else the run's as-of date. */
  period_end: string;
  /** The bank side's source: its statement file's closing balance is the balance per bank (unless given). */
  bank_source: Record<string, unknown>;
  account?: string;
  balance_per_bank?: string;
  balance_per_books?: string;
  books_opening_balance?: string;
  /** The definition's minor-unit overrides (currency_decimals). */
  currency_decimals: Record<string, number>;
}

/** The statement request of a bank reconciliation definition that asks for one, else undefined. */
export function bankStatementRequest(
  def: ReconciliationDefinition,
  asOfDate: string,
): BankStatementRequest | undefined {
  const bank = def.categorisation.bank;
  const st = bank?.statement;
  if (bank === undefined || st === undefined) return undefined;
  return {
    bank_side: bank.bank_side,
    period_end: bank.period_end ?? asOfDate,
    bank_source: def[bank.bank_side].source,
    ...(st.account !== undefined ? { account: st.account } : {}),
    ...(st.balance_per_bank !== undefined ? { balance_per_bank: st.balance_per_bank } : {}),
    ...(st.balance_per_books !== undefined ? { balance_per_books: st.balance_per_books } : {}),
    ...(st.books_opening_balance !== undefined ? { books_opening_balance: st.books_opening_balance } : {}),
    currency_decimals: def.currency_decimals,
  };
}
