// The balance per bank of a bank reconciliation statement: the closing balance a statement file reports for the
// account (camt.053 CLBD, MT940 :62F: or :62M:, BAI2 015 closing ledger). A file may hold several statements (pages
// of one account, or several accounts); the balance per bank is the latest closing balance of the account asked for,
// the final one (62F) before an intermediate one (62M) of the same date. Where the file cannot give one figure
// (no closing balance, several accounts and none named, two different closing balances of the same kind and date),
// it is refused naming the file and the statements' lines: a statement report built on a guessed balance is worse
// than none.
import type { BankStatement } from './statement';
import { SourceDataError } from './source-error';
import type { StatementFile } from './statement';

export interface ClosingBalance {
  /** Signed decimal string as the file gives it: a credit balance (money at the bank) is positive. */
  amount: string;
  currency: string;
  date: string | null;
  /** CLBD, 62F, 62M, 015. */
  type: string;
  account: string | null;
  /** The statement file and the line where the statement holding the balance starts. */
  source: string;
  line: number;
}

export interface ClosingBalanceSelect {
  /** The account (IBAN or number as written): required when the file holds statements of several accounts. */
  account?: string;
  /** Only balances in this currency (a file may report an account in several). */
  currency?: string;
}

const INTERMEDIATE = new Set(['62M']);

function rank(b: ClosingBalance): [string, number] {
  return [b.date ?? '', INTERMEDIATE.has(b.type) ? 0 : 1];
}

export function closingBalanceOf(file: StatementFile, select: ClosingBalanceSelect = {}): ClosingBalance {
  const where = { source: file.source };
  const accounts = [...new Set(file.statements.map((s) => s.account))];
  let statements: BankStatement[] = file.statements;
  if (select.account !== undefined) {
    statements = statements.filter((s) => s.account === select.account);
    if (statements.length === 0)
      throw new SourceDataError(
        where,
        `no statement of account ${select.account} (the file has ${accounts.map(String).join(', ') || 'none'})`,
      );
  } else if (accounts.length > 1) {
    throw new SourceDataError(
      where,
      `statements of ${accounts.length} accounts (${accounts.map(String).join(', ')}): name the account whose ` +
        'closing balance is the balance per bank',
    );
  }
  const candidates: ClosingBalance[] = [];
  for (const st of statements) {
    const b = st.closingBalance;
    if (b === null) continue;
    const currency = (b.currency ?? st.currency ?? '').toUpperCase();
    if (select.currency !== undefined && currency !== select.currency.toUpperCase()) continue;
    candidates.push({
      amount: b.amount,
      currency,
      date: b.date,
      type: b.type,
      account: st.account,
      source: file.source,
      line: st.line,
    });
  }
  if (candidates.length === 0) {
    const lines = statements.map((s) => s.line).join(', ');
    throw new SourceDataError(
      { source: file.source, line: statements[0]?.line },
      `no closing balance (camt.053 CLBD, MT940 :62F:, BAI2 015)${select.currency ? ` in ${select.currency}` : ''} ` +
        `in the statement${statements.length === 1 ? '' : 's'} at line${statements.length === 1 ? '' : 's'} ${lines}: ` +
        'the bank reconciliation statement needs the balance per bank',
    );
  }
  let best = candidates[0];
  for (const c of candidates.slice(1)) {
    const [cd, cf] = rank(c);
    const [bd, bf] = rank(best);
    if (cd > bd || (cd === bd && cf > bf)) best = c;
  }
  const [bd, bf] = rank(best);
  const rivals = candidates.filter((c) => {
    const [cd, cf] = rank(c);
    return c !== best && cd === bd && cf === bf && (c.amount !== best.amount || c.currency !== best.currency);
  });
  if (rivals.length > 0)
    throw new SourceDataError(
      { source: file.source, line: best.line },
      `${rivals.length + 1} closing balances of ${best.date ?? 'no date'} that disagree ` +
        `(${[best, ...rivals].map((c) => `${c.amount} ${c.currency} at line ${c.line}`).join(', ')}): ` +
        'which one is the balance per bank is not for the report to guess',
    );
  return best;
}
