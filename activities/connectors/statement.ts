// The common shape of a bank statement, whatever format it came in (camt.053/054, MT940/942, BAI2), and the
// checks every statement parser shares. Amounts are signed decimal strings: credit +, debit -.
import { Dec } from '../../domain/money';
import type { SourceRecord, SourceRow } from './source-record';

export type StatementFormat = 'camt053' | 'camt054' | 'mt940' | 'mt942' | 'bai2';

export interface Balance {
  /** Signed decimal string (a debit balance is negative). */
  amount: string;
  currency: string | null;
  date: string | null;
  /** The format's own balance type: OPBD, CLBD (camt), 60F, 62M (MT940), 010, 015 (BAI2), ... */
  type: string;
}

/** One underlying transaction of a batched entry (camt TxDtls). */
export interface EntryDetail {
  endToEndId: string | null;
  amount: string | null;
  currency: string | null;
  counterparty: string | null;
  counterpartyAccount: string | null;
  description: string | null;
}

export interface StatementEntry {
  /** Line in the file where the entry starts. */
  line: number;
  /** Signed decimal string: credit +, debit -. */
  amount: string;
  currency: string | null;
  bookingDate: string | null;
  valueDate: string | null;
  /** End-to-end id / customer reference, when the file gives one. */
  reference: string | null;
  /** The bank's own reference (camt AcctSvcrRef, MT940 reference after //, BAI2 bank reference). */
  bankReference: string | null;
  counterparty: string | null;
  counterpartyAccount: string | null;
  description: string | null;
  /** camt Domn/Fmly/SubFmly (or Prtry), MT940 transaction type (NTRF), BAI2 type code. */
  bankTransactionCode: string | null;
  /** camt Sts (BOOK, PDNG, INFO); null where the format has no status (all booked). */
  status: string | null;
  /** The bank reversed an earlier booking (camt RvslInd, MT940 RC/RD). The sign already reflects it. */
  reversal: boolean;
  /** The entry's text exactly as written, where a description was interpreted from a structured field. */
  rawDescription?: string;
  /** MT940 :61: supplementary details (the line under the statement line), as written. */
  supplementaryDetails?: string;
  /** Underlying transactions of a batch booking (camt). */
  details?: EntryDetail[];
}

export type BalanceCheck =
  | { status: 'balanced'; expectedClosing: string }
  | { status: 'unbalanced'; expectedClosing: string; difference: string }
  | { status: 'not_checked'; reason: string };

export interface BankStatement {
  format: StatementFormat;
  /** Line where the statement starts. */
  line: number;
  statementId: string | null;
  /** IBAN or account number as written. */
  account: string | null;
  currency: string | null;
  creationDate: string | null;
  fromDate: string | null;
  toDate: string | null;
  openingBalance: Balance | null;
  closingBalance: Balance | null;
  /** Every balance the statement reports (camt Bal, MT940 60/62/64/65, BAI2 03 summaries). */
  balances: Balance[];
  entries: StatementEntry[];
  /** opening + sum(booked entries) = closing? Reported, not enforced: the difference is a finding, not bad input. */
  balanceCheck: BalanceCheck;
  /** Statement-level text (MT940 :86: outside an entry, e.g. a bank's own summary line). */
  information?: string;
  /** Mandatory tags the statement lacks (MT940 fragments without :20: or :25:); empty for complete statements. */
  missing: string[];
}

export interface StatementFile {
  source: string;
  format: StatementFormat;
  statements: BankStatement[];
}

/** Sums booked entries (status null or BOOK) and compares opening + sum with closing. */
export function checkBalance(
  opening: Balance | null,
  closing: Balance | null,
  entries: StatementEntry[],
): BalanceCheck {
  if (!opening || !closing) return { status: 'not_checked', reason: 'no opening or no closing balance' };
  const currencies = new Set(
    [opening.currency, closing.currency, ...entries.map((e) => e.currency)].filter((c): c is string => c !== null),
  );
  if (currencies.size > 1) {
    return {
      status: 'not_checked',
      reason: `balances and entries are in several currencies (${[...currencies].join(', ')})`,
    };
  }
  let sum = new Dec(0);
  for (const e of entries) if (e.status === null || e.status === 'BOOK') sum = sum.plus(e.amount);
  const expected = new Dec(opening.amount).plus(sum);
  const closingDec = new Dec(closing.amount);
  if (expected.equals(closingDec)) return { status: 'balanced', expectedClosing: expected.toFixed() };
  return {
    status: 'unbalanced',
    expectedClosing: expected.toFixed(),
    difference: closingDec.minus(expected).toFixed(),
  };
}

/** The entries of statement files as flat source records, for reconciliation against any other source. */
export async function* statementEntryRows(
  files: Iterable<StatementFile> | AsyncIterable<StatementFile>,
): AsyncGenerator<SourceRow> {
  for await (const file of files) {
    for (const st of file.statements) {
      for (const e of st.entries) {
        const record: SourceRecord = {
          format: st.format,
          statement_id: st.statementId,
          account: st.account,
          currency: e.currency,
          amount: e.amount,
          booking_date: e.bookingDate,
          value_date: e.valueDate,
          reference: e.reference,
          bank_reference: e.bankReference,
          counterparty: e.counterparty,
          counterparty_account: e.counterpartyAccount,
          description: e.description,
          bank_transaction_code: e.bankTransactionCode,
          status: e.status,
          reversal: e.reversal ? 'true' : 'false',
        };
        yield { line: e.line, record };
      }
    }
  }
}
