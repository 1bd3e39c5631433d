// The bank reconciliation statement, as an auditor reads it: the balance per bank (the statement's closing balance)
// brought to an adjusted balance by the items the books hold and the bank does not yet (deposits in transit,
// outstanding checks and payments), the balance per books brought to an adjusted balance by the items the bank holds
// and the books do not (bank fees, other bank-only items, differences on paired records), and the two adjusted
// balances compared. When they differ, the difference is shown as unexplained: never absorbed into an item.
// An error is a person's word (an explanation with reason code `bank_error` or `book_error`, through the exception
// actions): a bank error brings the balance per bank to what the books hold, a book error the balance per books to
// what the bank holds, each under its own heading.
//
// Amounts as normalised by the reconciliation: positive is money into the account (a bank credit, a GL debit), so a
// credit balance at the bank and a debit balance of the GL cash account are both positive. Arithmetic is exact, in
// bigint minor units of the statement's currency; a statement is in one currency, and an item in another is refused.
import { currencyDecimals, minorToString, parseDecimal, toMinor } from '../money';
import type { Side } from './definition';

/** The kinds of reconciling item, in the order a statement lists them. */
export const BANK_ADJUSTMENTS = [
  'deposit_in_transit',
  'outstanding_check',
  'outstanding_payment',
  'bank_error',
  'other_book_only',
] as const;
export const BOOK_ADJUSTMENTS = [
  'bank_fee',
  'book_error',
  'other_bank_only',
  'paired_difference',
  'accepted_difference',
] as const;
export type BankAdjustmentKind = (typeof BANK_ADJUSTMENTS)[number];
export type BookAdjustmentKind = (typeof BOOK_ADJUSTMENTS)[number];
export type ReconcilingItemKind = BankAdjustmentKind | BookAdjustmentKind;

/** The kinds that name what an item is; any other item is listed but needs a person to explain it. */
export const EXPLAINED_KINDS: ReadonlySet<ReconcilingItemKind> = new Set([
  'deposit_in_transit',
  'outstanding_check',
  'outstanding_payment',
  'bank_fee',
  'bank_error',
  'book_error',
  'accepted_difference',
]);

/** The part of a reconciliation exception the statement reads (ReconException fits). */
export interface StatementException {
  id: string;
  category: string;
  open: boolean;
  currency: string;
  a: readonly string[];
  b: readonly string[];
  amount_a: string;
  amount_b: string;
  /** The reason code of a person's explanation, when there is one (`bank_error`, `book_error` name an error). */
  reason_code?: string | null;
}

export interface StatementBalance {
  /** Signed decimal string. */
  amount: string;
  /** Where the figure comes from: the statement file, the GL account / query, "given". */
  source: string;
  date?: string | null;
}

export interface BankStatementInput {
  currency: string;
  /** Minor-unit decimals; default ISO 4217 (the reconciliation's currency_decimals override, when it has one). */
  scale?: number;
  account?: string | null;
  period_end: string;
  /** Which side of the reconciliation is the bank statement. */
  bank_side: Side;
  balance_per_bank: StatementBalance;
  balance_per_books: StatementBalance;
  /**
   * Every exception of the reconciliation: open ones are reconciling items; accepted ones (open false, matched
   * within a tolerance) carry the difference a rule accepted.
   */
  exceptions: readonly StatementException[];
}

export interface ReconcilingItem {
  kind: ReconcilingItemKind;
  /** The reconciliation's category (bank_fee, missing_in_b, amount_mismatch, ...). */
  category: string;
  exception_id: string;
  bank_ids: string[];
  book_ids: string[];
  /** Signed amount added to the balance it adjusts. */
  amount: string;
  explained: boolean;
}

export interface KindTotal<K extends ReconcilingItemKind> {
  kind: K;
  count: number;
  total: string;
}

export interface BankReconciliationStatement {
  currency: string;
  scale: number;
  account: string | null;
  period_end: string;
  balance_per_bank: StatementBalance;
  /** Items in the books, not yet at the bank, by kind (every kind listed, zero when none). */
  bank_adjustments: KindTotal<BankAdjustmentKind>[];
  adjusted_balance_per_bank: string;
  balance_per_books: StatementBalance;
  /** Items at the bank, not (or differently) in the books, by kind. */
  book_adjustments: KindTotal<BookAdjustmentKind>[];
  adjusted_balance_per_books: string;
  /** adjusted per bank - adjusted per books: zero when the statement agrees. */
  unexplained_difference: string;
  agrees: boolean;
  /** Items listed that no reconciling kind explains (other bank/book-only items, paired differences). */
  items_to_explain: number;
  items: ReconcilingItem[];
  /** Findings that do not change the figures (a closing balance dated other than the period end). */
  warnings: string[];
}

export class BankStatementInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BankStatementInputError';
  }
}

const BANK_KIND: Record<string, BookAdjustmentKind> = { bank_fee: 'bank_fee' };
const BOOK_KIND: Record<string, BankAdjustmentKind> = {
  deposit_in_transit: 'deposit_in_transit',
  outstanding_check: 'outstanding_check',
  outstanding_payment: 'outstanding_payment',
};

function minor(amount: string, scale: number, where: string): bigint {
  try {
    return toMinor(parseDecimal(amount, where), scale);
  } catch (err) {
    throw new BankStatementInputError(`${where}: ${(err as Error).message}`);
  }
}

/** The GL account's balance at period end from its opening balance and the lines of the period, exactly. */
export function bookBalance(opening: string, amounts: Iterable<string>, currency: string, scale?: number): string {
  const sc = scale ?? currencyDecimals(currency);
  let total = minor(opening, sc, 'opening balance');
  let n = 0;
  for (const a of amounts) total += minor(a, sc, `GL line ${++n}`);
  return minorToString(total, sc);
}

export function bankReconciliationStatement(input: BankStatementInput): BankReconciliationStatement {
  const currency = input.currency.trim().toUpperCase();
  const scale = input.scale ?? currencyDecimals(currency);
  const bankBalance = minor(
    input.balance_per_bank.amount,
    scale,
    `balance per bank (${input.balance_per_bank.source})`,
  );
  const bookBal = minor(input.balance_per_books.amount, scale, `balance per books (${input.balance_per_books.source})`);
  const others = [...new Set(input.exceptions.filter((e) => e.currency !== currency).map((e) => e.currency))];
  if (others.length > 0)
    throw new BankStatementInputError(
      `the statement is in ${currency}, but the reconciliation has exceptions in ${others.join(', ')}: ` +
        `one statement per currency (bank account)`,
    );

  const bankTotals = new Map<BankAdjustmentKind, { count: number; total: bigint }>(
    BANK_ADJUSTMENTS.map((k) => [k, { count: 0, total: 0n }]),
  );
  const bookTotals = new Map<BookAdjustmentKind, { count: number; total: bigint }>(
    BOOK_ADJUSTMENTS.map((k) => [k, { count: 0, total: 0n }]),
  );
  const items: ReconcilingItem[] = [];
  const bankIsA = input.bank_side === 'a';
  for (const e of input.exceptions) {
    const bankIds = [...(bankIsA ? e.a : e.b)];
    const bookIds = [...(bankIsA ? e.b : e.a)];
    const bankAmount = minor(bankIsA ? e.amount_a : e.amount_b, scale, `exception ${e.id}`);
    const bookAmount = minor(bankIsA ? e.amount_b : e.amount_a, scale, `exception ${e.id}`);
    let kind: ReconcilingItemKind;
    let amount: bigint;
    if (!e.open) {
      // Matched within a tolerance: the rule accepted the difference, which still separates the two balances.
      kind = 'accepted_difference';
      amount = bankAmount - bookAmount;
      if (amount === 0n) continue;
    } else if (e.reason_code === 'bank_error') {
      // The bank is wrong: its balance is brought to what the books hold (a bank-only record taken out, a paired
      // record's difference reversed).
      kind = 'bank_error';
      amount = bookAmount - bankAmount;
    } else if (e.reason_code === 'book_error') {
      kind = 'book_error';
      amount = bankAmount - bookAmount;
    } else if (bankIds.length === 0) {
      kind = BOOK_KIND[e.category] ?? 'other_book_only';
      amount = bookAmount;
    } else if (bookIds.length === 0) {
      kind = BANK_KIND[e.category] ?? 'other_bank_only';
      amount = bankAmount;
    } else {
      // Records on both sides not matched (a short payment, a proposal awaiting a person): the books are brought to
      // what the bank booked, and the item waits for its explanation.
      kind = 'paired_difference';
      amount = bankAmount - bookAmount;
    }
    const t = (bankTotals.get(kind as BankAdjustmentKind) ?? bookTotals.get(kind as BookAdjustmentKind)) as {
      count: number;
      total: bigint;
    };
    t.count++;
    t.total += amount;
    items.push({
      kind,
      category: e.category,
      exception_id: e.id,
      bank_ids: bankIds,
      book_ids: bookIds,
      amount: minorToString(amount, scale),
      explained: EXPLAINED_KINDS.has(kind),
    });
  }

  let adjustedBank = bankBalance;
  for (const t of bankTotals.values()) adjustedBank += t.total;
  let adjustedBooks = bookBal;
  for (const t of bookTotals.values()) adjustedBooks += t.total;
  const difference = adjustedBank - adjustedBooks;
  const warnings: string[] = [];
  const bankDate = input.balance_per_bank.date;
  if (bankDate && bankDate !== input.period_end)
    warnings.push(`the bank's closing balance is dated ${bankDate}, the period ends ${input.period_end}`);
  const order = [...BANK_ADJUSTMENTS, ...BOOK_ADJUSTMENTS] as ReconcilingItemKind[];
  items.sort((x, y) => order.indexOf(x.kind) - order.indexOf(y.kind) || (x.exception_id < y.exception_id ? -1 : 1));

  return {
    currency,
    scale,
    account: input.account ?? null,
    period_end: input.period_end,
    balance_per_bank: { ...input.balance_per_bank, amount: minorToString(bankBalance, scale) },
    bank_adjustments: [...bankTotals].map(([kind, t]) => ({
      kind,
      count: t.count,
      total: minorToString(t.total, scale),
    })),
    adjusted_balance_per_bank: minorToString(adjustedBank, scale),
    balance_per_books: { ...input.balance_per_books, amount: minorToString(bookBal, scale) },
    book_adjustments: [...bookTotals].map(([kind, t]) => ({
      kind,
      count: t.count,
      total: minorToString(t.total, scale),
    })),
    adjusted_balance_per_books: minorToString(adjustedBooks, scale),
    unexplained_difference: minorToString(difference, scale),
    agrees: difference === 0n,
    items_to_explain: items.filter((i) => !i.explained).length,
    items,
    warnings,
  };
}
