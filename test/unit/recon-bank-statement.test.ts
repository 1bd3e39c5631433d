import {
  BANK_ADJUSTMENTS,
  BOOK_ADJUSTMENTS,
  EXPLAINED_KINDS,
  bankReconciliationStatement,
  bookBalance,
  BankStatementInputError,
  type BankStatementInput,
  type StatementException,
} from '../../domain/recon/bank-statement';
import { parseDefinition } from '../../domain/recon/definition';
import { normaliseRecords } from '../../domain/recon/normalise';
import { reconcile } from '../../domain/recon/reconcile';
import { bankDefinition, generateBankScenario, PERIOD_END } from './recon-bank-generator';

function exception(
  id: string,
  category: string,
  bank: [string[], string],
  book: [string[], string],
  open = true,
): StatementException {
  return { id, category, open, currency: 'EUR', a: bank[0], b: book[0], amount_a: bank[1], amount_b: book[1] };
}

// A textbook month: the bank shows 10,000.00.
//   deposit in transit +1,200.00; outstanding checks -450.00 and -325.50; outstanding payment -100.00
//   bank fee -15.75; interest credited by the bank (bank only) +2.80; a short payment: bank 940.00, books 980.00;
//   a match the rounding tolerance accepted 0.01 apart
// adjusted per bank: 10,000.00 + 1,200.00 - 775.50 - 100.00 = 10,324.50, which the books must reach.
const items: StatementException[] = [
  exception('GL7', 'deposit_in_transit', [[], '0.00'], [['GL7'], '1200.00']),
  exception('GL8', 'outstanding_check', [[], '0.00'], [['GL8'], '-450.00']),
  exception('GL9', 'outstanding_check', [[], '0.00'], [['GL9'], '-325.50']),
  exception('GL10', 'outstanding_payment', [[], '0.00'], [['GL10'], '-100.00']),
  exception('B3', 'bank_fee', [['B3'], '-15.75'], [[], '0.00']),
  exception('B4', 'missing_in_b', [['B4'], '2.80'], [[], '0.00']),
  exception('B5', 'amount_mismatch', [['B5'], '940.00'], [['GL11'], '980.00']),
  // Matched within a tolerance: 0.01 apart.
  exception('B6', 'rounding', [['B6'], '10.01'], [['GL12'], '10.00'], false),
];

function input(over: Partial<BankStatementInput> = {}): BankStatementInput {
  return {
    currency: 'EUR',
    period_end: '2026-01-31',
    bank_side: 'a',
    balance_per_bank: { amount: '10000.00', source: 'statement.xml', date: '2026-01-31' },
    // 10,324.50 + 15.75 - 2.80 + 40.00 - 0.01 = 10,377.44
    balance_per_books: { amount: '10377.44', source: 'GL 1000' },
    exceptions: items,
    ...over,
  };
}

describe('the bank reconciliation statement', () => {
  it('brings both balances to adjusted balances that agree, with every reconciling item totalled by kind', () => {
    const s = bankReconciliationStatement(input());
    expect(s.bank_adjustments).toEqual([
      { kind: 'deposit_in_transit', count: 1, total: '1200.00' },
      { kind: 'outstanding_check', count: 2, total: '-775.50' },
      { kind: 'outstanding_payment', count: 1, total: '-100.00' },
      { kind: 'bank_error', count: 0, total: '0.00' },
      { kind: 'other_book_only', count: 0, total: '0.00' },
    ]);
    expect(s.adjusted_balance_per_bank).toBe('10324.50');
    expect(s.book_adjustments).toEqual([
      { kind: 'bank_fee', count: 1, total: '-15.75' },
      { kind: 'book_error', count: 0, total: '0.00' },
      { kind: 'other_bank_only', count: 1, total: '2.80' },
      { kind: 'paired_difference', count: 1, total: '-40.00' },
      { kind: 'accepted_difference', count: 1, total: '0.01' },
    ]);
    expect(s.adjusted_balance_per_books).toBe('10324.50');
    expect(s.agrees).toBe(true);
    expect(s.unexplained_difference).toBe('0.00');
    // The interest and the short payment are listed but need a person to explain them.
    expect(s.items_to_explain).toBe(2);
    expect(s.items.filter((i) => !i.explained).map((i) => i.category)).toEqual(['missing_in_b', 'amount_mismatch']);
    expect(s.items.map((i) => i.kind)).toEqual([
      'deposit_in_transit',
      'outstanding_check',
      'outstanding_check',
      'outstanding_payment',
      'bank_fee',
      'other_bank_only',
      'paired_difference',
      'accepted_difference',
    ]);
    expect(s.warnings).toEqual([]);
  });

  it('lists items a person explained as a bank or book error under their own headings, and still agrees', () => {
    // The interest (bank only) was credited to the wrong account by the bank; the short payment was keyed 980.00
    // in the books for the 940.00 received; a bank fee said to be the bank's error comes out of the bank balance.
    const said = (e: StatementException, reason: string): StatementException => ({ ...e, reason_code: reason });
    const explained = items.map((e) =>
      e.id === 'B4' ? said(e, 'bank_error') : e.id === 'B5' ? said(e, 'book_error') : said(e, 'timing'),
    );
    const s = bankReconciliationStatement(input({ exceptions: explained }));
    expect(s.bank_adjustments.find((a) => a.kind === 'bank_error')).toEqual({
      kind: 'bank_error',
      count: 1,
      total: '-2.80',
    });
    expect(s.book_adjustments.find((a) => a.kind === 'book_error')).toEqual({
      kind: 'book_error',
      count: 1,
      total: '-40.00',
    });
    expect(s.book_adjustments.find((a) => a.kind === 'other_bank_only')?.count).toBe(0);
    expect(s.book_adjustments.find((a) => a.kind === 'paired_difference')?.count).toBe(0);
    // 10,324.50 - 2.80 on the bank side; the books lose the interest they no longer need to reach.
    expect(s.adjusted_balance_per_bank).toBe('10321.70');
    expect(s.adjusted_balance_per_books).toBe('10321.70');
    expect(s.agrees).toBe(true);
    // A person named both: nothing is left to explain.
    expect(s.items_to_explain).toBe(0);
    expect(s.items.filter((i) => i.kind.endsWith('_error')).map((i) => [i.kind, i.exception_id, i.amount])).toEqual([
      ['bank_error', 'B4', '-2.80'],
      ['book_error', 'B5', '-40.00'],
    ]);
    // A tolerance match stays what the rule accepted, whatever its reason code.
    const accepted = bankReconciliationStatement(
      input({ exceptions: [said(items[7], 'bank_error')], balance_per_books: { amount: '9999.99', source: 'GL' } }),
    );
    expect(accepted.items.map((i) => i.kind)).toEqual(['accepted_difference']);
  });

  it('shows a difference nothing explains as unexplained, and does not agree', () => {
    const s = bankReconciliationStatement(input({ balance_per_books: { amount: '10477.44', source: 'GL 1000' } }));
    expect(s.adjusted_balance_per_bank).toBe('10324.50');
    expect(s.adjusted_balance_per_books).toBe('10424.50');
    expect(s.unexplained_difference).toBe('-100.00');
    expect(s.agrees).toBe(false);
  });

  it('takes the bank side from the definition: with the bank as side b the same items land the same way', () => {
    const swapped = items.map((e) => ({ ...e, a: e.b, b: e.a, amount_a: e.amount_b, amount_b: e.amount_a }));
    const s = bankReconciliationStatement(input({ bank_side: 'b', exceptions: swapped }));
    expect(s.adjusted_balance_per_bank).toBe('10324.50');
    expect(s.adjusted_balance_per_books).toBe('10324.50');
    expect(s.bank_adjustments[1]).toEqual({ kind: 'outstanding_check', count: 2, total: '-775.50' });
  });

  it('lists no item for a tolerance match whose two amounts came out equal, and exports its kinds in order', () => {
    const exact = exception('B9', 'rounding', [['B9'], '10.00'], [['GL19'], '10.00'], false);
    const s = bankReconciliationStatement(input({ exceptions: [...items, exact] }));
    expect(s.items.map((i) => i.exception_id)).not.toContain('B9');
    expect(s.adjusted_balance_per_books).toBe('10324.50');
    expect(s.agrees).toBe(true);
    // The statement lists its kinds in these orders, bank side first; the explained ones need no person.
    expect(s.bank_adjustments.map((a) => a.kind)).toEqual([...BANK_ADJUSTMENTS]);
    expect(s.book_adjustments.map((a) => a.kind)).toEqual([...BOOK_ADJUSTMENTS]);
    expect(EXPLAINED_KINDS.has('deposit_in_transit')).toBe(true);
    expect(EXPLAINED_KINDS.has('paired_difference')).toBe(false);
  });

  it('refuses items in another currency than the statement, naming it', () => {
    const usd = { ...items[0], currency: 'USD' };
    expect(() => bankReconciliationStatement(input({ exceptions: [...items, usd] }))).toThrow(
      /statement is in EUR, but the reconciliation has exceptions in USD/,
    );
  });

  it('refuses a balance with more decimals than the currency has, naming where it comes from', () => {
    const run = () =>
      bankReconciliationStatement(input({ balance_per_bank: { amount: '10000.00001', source: 'five.decimals.xml' } }));
    expect(run).toThrow(BankStatementInputError);
    expect(run).toThrow(/balance per bank \(five.decimals.xml\).*more than 2 decimal places/);
  });

  it('keeps each currency its own decimals (JPY has none) and warns when the closing balance is not at period end', () => {
    const s = bankReconciliationStatement({
      currency: 'jpy',
      period_end: '2026-01-31',
      bank_side: 'a',
      balance_per_bank: { amount: '150000', source: 'mt940.sta', date: '2026-01-30' },
      balance_per_books: { amount: '148000', source: 'GL 1010' },
      exceptions: [
        {
          ...items[7],
          open: true,
          category: 'missing_in_a',
          currency: 'JPY',
          a: [],
          amount_a: '0',
          amount_b: '-2000',
          b: ['GL1'],
        },
      ],
    });
    expect(s.bank_adjustments[4]).toEqual({ kind: 'other_book_only', count: 1, total: '-2000' });
    expect(s.adjusted_balance_per_bank).toBe('148000');
    expect(s.agrees).toBe(true);
    expect(s.warnings).toEqual(["the bank's closing balance is dated 2026-01-30, the period ends 2026-01-31"]);
  });

  it('sums the books balance exactly from an opening balance and the period lines', () => {
    expect(bookBalance('0.10', ['0.20', '-0.30', '1000000000000.01'], 'EUR')).toBe('1000000000000.01');
    expect(() => bookBalance('0', ['1.005'], 'EUR')).toThrow(/GL line 1: 1.005 has more than 2 decimal places/);
  });

  it('agrees on a generated bank-vs-GL month reconciled by the engine, and moves by exactly a planted error', () => {
    const scenario = generateBankScenario(600);
    const def = parseDefinition(bankDefinition);
    const result = reconcile(normaliseRecords(scenario.bank, def, 'a'), normaliseRecords(scenario.gl, def, 'b'), def);
    // Both accounts opened the month at the same balance; their closing balances are the opening plus their lines.
    const perBank = bookBalance(
      '25000.00',
      scenario.bank.map((r) => r.values.amount as string),
      'EUR',
    );
    const perBooks = bookBalance(
      '25000.00',
      scenario.gl.map((r) => r.values.amount as string),
      'EUR',
    );
    const base = {
      currency: 'EUR',
      period_end: PERIOD_END,
      bank_side: 'a' as const,
      balance_per_bank: { amount: perBank, source: 'generated bank', date: PERIOD_END },
      exceptions: result.exceptions,
    };
    const s = bankReconciliationStatement({ ...base, balance_per_books: { amount: perBooks, source: 'generated GL' } });
    expect(s.agrees).toBe(true);
    expect(s.bank_adjustments.map((t) => [t.kind, t.count])).toEqual([
      ['deposit_in_transit', scenario.planted.in_transit],
      ['outstanding_check', scenario.planted.check],
      ['outstanding_payment', scenario.planted.outgoing],
      ['bank_error', 0],
      ['other_book_only', 0],
    ]);
    expect(s.book_adjustments[0]).toMatchObject({ kind: 'bank_fee', count: scenario.planted.fee });
    // Short payments and the ambiguous proposals are the items a person explains.
    expect(s.items_to_explain).toBe(scenario.planted.short + scenario.planted.ambiguous);
    const off = bankReconciliationStatement({
      ...base,
      balance_per_books: { amount: bookBalance(perBooks, ['0.03'], 'EUR'), source: 'generated GL' },
    });
    expect(off.unexplained_difference).toBe('-0.03');
    expect(off.agrees).toBe(false);
  });
});
