// The bank part of a definition's categorisation (categorisation.bank), built from the definition's own field-name,
// pattern and decimal schemas (see definition.ts).
import { z } from 'zod';

export interface BankSchemaParts {
  decimalString: z.ZodType<string, string>;
  fieldName: z.ZodType<string, string>;
  regexSource: z.ZodType<string, string>;
  nonNegativeDecimal: z.ZodType<string, string>;
}

/**
 * A bank reconciliation: records left on one side only are named as reconciling items (bank_fee,
 * outstanding_check, outstanding_payment, deposit_in_transit; see categorise-bank.ts). Patterns are
 * case-insensitive regular expressions over the named field, checked here.
 */
export function bankCategorisationSchema({
  decimalString,
  fieldName,
  regexSource,
  nonNegativeDecimal,
}: BankSchemaParts) {
  /**
   * Asks for the bank reconciliation statement with every run's reports (`<id>_bank-statement_<period end>` as json,
   * xlsx and html). The balance per bank is the closing balance of the bank side's statement file (camt.053 CLBD,
   * MT940 :62F:, BAI2 015), or `balance_per_bank` when given; the balance per books is `balance_per_books` as given,
   * or `books_opening_balance` plus every record of the book side in the run.
   */
  const statement = z
    .object({
      balance_per_books: decimalString.optional(),
      books_opening_balance: decimalString.optional(),
      balance_per_bank: decimalString.optional(),
      /** The account whose closing balance is the balance per bank, when the statement file holds several. */
      account: z.string().min(1).optional(),
    })
    .refine((t) => (t.balance_per_books === undefined) !== (t.books_opening_balance === undefined), {
      message: 'the statement needs the balance per books: balance_per_books or books_opening_balance (one of them)',
      path: ['balance_per_books'],
    });
  return z
    .object({
      bank_side: z.enum(['a', 'b']),
      fee_field: fieldName.optional(),
      fee_pattern: regexSource.optional(),
      fee_threshold: nonNegativeDecimal.optional(),
      check_field: fieldName.optional(),
      check_pattern: regexSource.optional(),
      period_end: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be an ISO date yyyy-MM-dd')
        .optional(),
      in_transit_days: z.int().min(0).max(31).default(3),
      statement: statement.optional(),
    })
    .refine((b) => (b.fee_pattern === undefined) === (b.fee_field === undefined), {
      message: 'fee_pattern and fee_field go together',
      path: ['fee_pattern'],
    })
    .refine((b) => (b.check_pattern === undefined) === (b.check_field === undefined), {
      message: 'check_pattern and check_field go together',
      path: ['check_pattern'],
    });
}

/** Bank sources whose files carry a closing balance (camt.054 and MT942 are intraday: they carry none). */
const CLOSING_BALANCE_CONNECTORS: readonly string[] = ['camt053', 'mt940', 'bai2', 'statement'];

/**
 * Why the statement asked for cannot have a balance per bank, or undefined: without `balance_per_bank` the bank side
 * must be read from a statement file that reports a closing balance.
 */
export function statementBankBalanceProblem(
  bank: { bank_side: 'a' | 'b'; statement?: { balance_per_bank?: string } } | undefined,
  sources: { a: { connector: string }; b: { connector: string } },
): string | undefined {
  if (bank?.statement === undefined || bank.statement.balance_per_bank !== undefined) return undefined;
  const connector = sources[bank.bank_side].connector;
  if (CLOSING_BALANCE_CONNECTORS.includes(connector)) return undefined;
  return (
    `the bank reconciliation statement needs the balance per bank: side ${bank.bank_side} is read by ${connector}, ` +
    `which gives no closing balance; read it from a statement file (${CLOSING_BALANCE_CONNECTORS.join(', ')}) or ` +
    'give statement.balance_per_bank'
  );
}
