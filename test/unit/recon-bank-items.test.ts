import { exceptionList, run } from './recon-fixtures';

const rules = [{ id: 'same-day', type: 'exact' as const, compare_date: true }];
// Side a is the bank statement, side b the GL cash account; positive = money in.
const bank = {
  bank_side: 'a' as const,
  fee_field: 'text',
  fee_pattern: '\\b(fee|charge|commission)\\b',
  fee_threshold: '5.00',
  check_field: 'text',
  check_pattern: '^(CHK|check)\\b',
  period_end: '2026-01-31',
  in_transit_days: 2,
};

describe('bank reconciling items', () => {
  it('names one-sided records for what they are on the bank reconciliation statement', () => {
    const r = run(
      rules,
      [
        ['EUR', '-25.00', '2026-01-10', { text: 'Account maintenance FEE' }],
        ['EUR', '-3.50', '2026-01-11', { text: 'SEPA' }],
        ['EUR', '-40.00', '2026-01-12', { text: 'card payment' }],
        ['EUR', '70.00', '2026-01-13', { text: 'interest' }],
      ],
      [
        ['EUR', '-120.00', '2026-01-20', { text: 'CHK 100234 supplier' }],
        ['EUR', '-300.00', '2026-01-21', { text: 'transfer to supplier' }],
        ['EUR', '450.00', '2026-01-30', { text: 'receipts of the day' }],
        ['EUR', '80.00', '2026-01-20', { text: 'receipt' }],
      ],
      { categorisation: { bank } },
    );
    expect(exceptionList(r)).toEqual([
      'bank_fee: A:1 / ',
      'bank_fee: A:2 / ',
      'missing_in_b: A:3 / ',
      'missing_in_b: A:4 / ',
      'outstanding_check:  / B:1',
      'outstanding_payment:  / B:2',
      'deposit_in_transit:  / B:3',
      'missing_in_a:  / B:4',
    ]);
    expect(r.exceptions.map((e) => e.evidence)).toEqual([
      { matched: 'text', text: 'Account maintenance FEE' },
      { fee_threshold: '5.00' },
      { key_on_other_side: 4 },
      { key_on_other_side: 4 },
      { matched: 'text', text: 'CHK 100234 supplier' },
      {},
      { date: '2026-01-30', period_end: '2026-01-31', days_before_end: 1 },
      { key_on_other_side: 4 },
    ]);
    expect(r.summary.exceptions_by_category).toMatchObject({
      bank_fee: 2,
      outstanding_check: 1,
      outstanding_payment: 1,
      deposit_in_transit: 1,
    });
  });

  it('takes the latest bank date as the period end when the definition names none', () => {
    const r = run(
      rules,
      [['EUR', '10.00', '2026-01-28']],
      [
        ['EUR', '450.00', '2026-01-27'],
        ['EUR', '60.00', '2026-01-20'],
      ],
      { categorisation: { bank: { ...bank, period_end: undefined } } },
    );
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ', 'deposit_in_transit:  / B:1', 'missing_in_a:  / B:2']);
    expect(r.exceptions[1].evidence).toMatchObject({ period_end: 'latest bank date', days_before_end: 1 });
  });

  it('calls a small bank debit a fee only by its text when the definition sets no fee threshold', () => {
    const r = run(
      rules,
      [
        ['EUR', '-3.50', '2026-01-11', { text: 'SEPA' }],
        ['EUR', '-2.00', '2026-01-12', { text: 'monthly fee' }],
      ],
      [],
      { categorisation: { bank: { ...bank, fee_threshold: undefined } } },
    );
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ', 'bank_fee: A:2 / ']);
    expect(r.exceptions.map((e) => e.evidence)).toEqual([
      { key_on_other_side: 0 },
      { matched: 'text', text: 'monthly fee' },
    ]);
  });

  it('calls a zero GL amount no deposit in transit, even dated the day before the period end', () => {
    const r = run(rules, [], [['EUR', '0.00', '2026-01-30']], { categorisation: { bank } });
    expect(exceptionList(r)).toEqual(['missing_in_a:  / B:1']);
    expect(r.exceptions[0].evidence).toEqual({ key_on_other_side: 0 });
  });

  it('calls nothing a deposit in transit without a period end or a bank date to take it from', () => {
    const r = run(rules, [], [['EUR', '450.00', '2026-01-30']], {
      categorisation: { bank: { ...bank, period_end: undefined } },
    });
    expect(exceptionList(r)).toEqual(['missing_in_a:  / B:1']);
    expect(r.exceptions[0].evidence).toEqual({ key_on_other_side: 0 });
  });

  it('refuses a pattern that does not compile, and a pattern without its field', () => {
    expect(() => run(rules, [], [], { categorisation: { bank: { ...bank, fee_pattern: '(fee' } } })).toThrow(
      /the pattern does not compile[\s\S]*categorisation\.bank\.fee_pattern/,
    );
    expect(() => run(rules, [], [], { categorisation: { bank: { ...bank, check_field: undefined } } })).toThrow(
      /check_pattern and check_field go together/,
    );
  });
});
