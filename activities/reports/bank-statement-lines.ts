// The bank reconciliation statement in reading order, with its labels: what every rendering of it (xlsx, HTML in
// bank-statement.ts, PDF in bank-statement-pdf.ts) shows, from one place so that they cannot disagree.
import {
  EXPLAINED_KINDS,
  type BankReconciliationStatement,
  type ReconcilingItemKind,
  type StatementBalance,
} from '../../domain/recon/bank-statement';

export const KIND_LABELS: Record<ReconcilingItemKind, string> = {
  deposit_in_transit: 'Deposits in transit',
  outstanding_check: 'Outstanding checks',
  outstanding_payment: 'Outstanding payments',
  bank_error: 'Errors by the bank (a person said so)',
  other_book_only: 'Other items in the books, not at the bank (to explain)',
  bank_fee: 'Bank fees and charges',
  book_error: 'Errors in the books (a person said so)',
  other_bank_only: 'Other items at the bank, not in the books (to explain)',
  paired_difference: 'Differences on paired records (to explain)',
  accepted_difference: 'Differences accepted within tolerance',
};

/** One line of the statement: label, item count (for item kinds), signed amount; `flag` marks what needs attention. */
export interface StatementLine {
  label: string;
  count: number | null;
  amount: string;
  emphasis: 'balance' | 'item' | 'adjusted' | 'difference';
  flag: boolean;
}

function balanceLabel(prefix: string, b: StatementBalance): string {
  return `${prefix} (${b.source}${b.date ? `, ${b.date}` : ''})`;
}

/** The statement in reading order, shared by the xlsx and HTML renderings so they cannot disagree. */
export function statementLines(s: BankReconciliationStatement): StatementLine[] {
  const item = (t: { kind: ReconcilingItemKind; count: number; total: string }): StatementLine => ({
    label: KIND_LABELS[t.kind],
    count: t.count,
    amount: t.total,
    emphasis: 'item',
    flag: t.count > 0 && !EXPLAINED_KINDS.has(t.kind),
  });
  return [
    {
      label: balanceLabel('Balance per bank', s.balance_per_bank),
      count: null,
      amount: s.balance_per_bank.amount,
      emphasis: 'balance',
      flag: false,
    },
    ...s.bank_adjustments.map(item),
    {
      label: 'Adjusted balance per bank',
      count: null,
      amount: s.adjusted_balance_per_bank,
      emphasis: 'adjusted',
      flag: false,
    },
    {
      label: balanceLabel('Balance per books', s.balance_per_books),
      count: null,
      amount: s.balance_per_books.amount,
      emphasis: 'balance',
      flag: false,
    },
    ...s.book_adjustments.map(item),
    {
      label: 'Adjusted balance per books',
      count: null,
      amount: s.adjusted_balance_per_books,
      emphasis: 'adjusted',
      flag: false,
    },
    {
      label: s.agrees
        ? 'Difference (adjusted balances agree)'
        : 'UNEXPLAINED DIFFERENCE (adjusted per bank - adjusted per books)',
      count: null,
      amount: s.unexplained_difference,
      emphasis: 'difference',
      flag: !s.agrees,
    },
  ];
}
