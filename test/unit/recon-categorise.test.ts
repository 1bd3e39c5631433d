import { transposition } from '../../domain/recon/categorise';
import { exceptionList, prngRows, run } from './recon-fixtures';

const exact = [{ id: 'exact', type: 'exact' as const }];
const exactByDate = [{ id: 'exact', type: 'exact' as const, compare_date: true }];

describe('categories of unmatched records', () => {
  it('calls a record missing on the other side when nothing there could pair with it', () => {
    const r = run(exact, [['K1', '10.00']], [['K2', '20.00']]);
    expect(r.exceptions).toEqual([
      {
        id: 'A:1',
        category: 'missing_in_b',
        open: true,
        key: 'K1',
        currency: 'EUR',
        a: ['A:1'],
        b: [],
        amount_a: '10.00',
        amount_b: '0.00',
        difference: '10.00',
        evidence: { key_on_other_side: 0 },
      },
      {
        id: 'B:1',
        category: 'missing_in_a',
        open: true,
        key: 'K2',
        currency: 'EUR',
        a: [],
        b: ['B:1'],
        amount_a: '0.00',
        amount_b: '20.00',
        difference: '-20.00',
        evidence: { key_on_other_side: 0 },
      },
    ]);
  });

  it('reports an amount mismatch with its difference when the key holds one record on each side', () => {
    const r = run(exact, [['K', '100.00']], [['K', '130.00']]);
    expect(exceptionList(r)).toEqual(['amount_mismatch: A:1 / B:1']);
    expect(r.exceptions[0]).toMatchObject({ difference: '-30.00', evidence: { difference: '-30.00' } });
  });

  it('invents no pair in a key that holds several records: without evidence each stays missing on its side', () => {
    const r = run(
      exact,
      [['K', '100.00']],
      [
        ['K', '130.00'],
        ['K', '7.00'],
      ],
    );
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ', 'missing_in_a:  / B:1', 'missing_in_a:  / B:2']);
    expect(r.exceptions.map((e) => e.evidence)).toEqual([
      { key_on_other_side: 2 },
      { key_on_other_side: 1 },
      { key_on_other_side: 1 },
    ]);
  });

  it('leaves a keyless bank statement\'s unrelated leftovers missing, pairing only those with evidence', () => {
    // Keyed by currency: the key says nothing about which line belongs with which.
    const r = run(
      exact,
      [
        ['EUR', '-12.50'],
        ['EUR', '250.00'],
        ['EUR', '99.00'],
        ['EUR', '12.34'],
      ],
      [
        ['EUR', '-480.00'],
        ['EUR', '1000.00'],
        ['EUR', '-99.00'],
        ['EUR', '12.43'],
      ],
    );
    expect(exceptionList(r)).toEqual([
      'sign_reversal: A:3 / B:3',
      'transposition: A:4 / B:4',
      'missing_in_b: A:1 / ',
      'missing_in_b: A:2 / ',
      'missing_in_a:  / B:1',
      'missing_in_a:  / B:2',
    ]);
    expect(r.summary.exceptions_by_category.amount_mismatch).toBe(0);
  });

  it('reports a difference beyond 2^53 minor units exactly', () => {
    const r = run(exact, [['K', '90000000000000.00']], [['K', '-80000000000000.00']]);
    expect(exceptionList(r)).toEqual(['amount_mismatch: A:1 / B:1']);
    expect(r.exceptions[0].difference).toBe('170000000000000.00');
  });

  it('recognises a timing difference: same key and amount, dates apart within the timing window', () => {
    const r = run(exactByDate, [['K', '10.00', '2026-01-31']], [['K', '10.00', '2026-02-03']]);
    expect(exceptionList(r)).toEqual(['timing_difference: A:1 / B:1']);
    expect(r.exceptions[0].evidence).toEqual({
      date_a: '2026-01-31',
      date_b: '2026-02-03',
      days_apart: 3,
      period_a: '2026-01',
      period_b: '2026-02',
      periods_apart: 1,
    });
    expect(r.exceptions[0].difference).toBe('0.00');
  });

  it('treats the same amount further apart than the timing window as two separate items', () => {
    const r = run(exactByDate, [['K', '10.00', '2026-01-01']], [['K', '10.00', '2026-06-01']], {
      categorisation: { timing_window_days: 31 },
    });
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ', 'missing_in_a:  / B:1']);
  });

  it('recognises a sign reversal', () => {
    const r = run(exact, [['K', '45.10']], [['K', '-45.10']]);
    expect(exceptionList(r)).toEqual(['sign_reversal: A:1 / B:1']);
    expect(r.exceptions[0].evidence).toEqual({ sum: '0.00' });
  });

  it('recognises a transposition by the swapped digits, not by divisibility alone', () => {
    const r = run(
      exact,
      [
        ['K1', '12.34'],
        ['K2', '10.00'],
        ['K3', '0.09'],
        ['K4', '-5120.00'],
      ],
      [
        ['K1', '12.43'],
        ['K2', '10.18'],
        ['K3', '0.90'],
        ['K4', '-1520.00'],
      ],
    );
    expect(exceptionList(r)).toEqual([
      'transposition: A:1 / B:1',
      'amount_mismatch: A:2 / B:2',
      'transposition: A:3 / B:3',
      'transposition: A:4 / B:4',
    ]);
    expect(r.exceptions[0].evidence).toEqual({
      difference: '-0.09',
      divisible_by_9: true,
      digits_a: '1234',
      digits_b: '1243',
      swapped_at: 2,
    });
    expect(r.exceptions[1].difference).toBe('-0.18');
  });

  it('recognises a rounding difference of one minor unit, or up to a configured tolerance', () => {
    const byDefault = run(exact, [['K', '10.00']], [['K', '10.01']]);
    expect(exceptionList(byDefault)).toEqual(['rounding: A:1 / B:1']);
    expect(byDefault.exceptions[0]).toMatchObject({
      open: true,
      evidence: { difference: '-0.01', rounding_tolerance: '0.01' },
    });
    const configured = run(
      exact,
      [
        ['K', '10.00'],
        ['L', '10.00'],
      ],
      [
        ['K', '10.04'],
        ['L', '10.06'],
      ],
      { categorisation: { rounding_tolerance: '0.05' } },
    );
    expect(exceptionList(configured)).toEqual(['rounding: A:1 / B:1', 'amount_mismatch: A:2 / B:2']);
  });

  it('uses the currency scale for the default rounding unit', () => {
    const r = run(exact, [['K', '1000', undefined, { ccy: 'JPY' }]], [['K', '1001', undefined, { ccy: 'JPY' }]]);
    expect(r.exceptions[0]).toMatchObject({ category: 'rounding', difference: '-1', currency: 'JPY' });
  });

  it('marks every leftover record of a duplicated key as duplicate_key when a rule expects unique keys', () => {
    const r = run(
      [{ id: 'exact', type: 'exact', compare_date: true, expect_unique: true }],
      [
        ['K', '10.00', '2026-01-01'],
        ['K', '10.00', '2026-01-05'],
        ['L', '1.00'],
      ],
      [['K', '10.00', '2026-01-09']],
    );
    expect(exceptionList(r)).toEqual(['duplicate_key: A:1+A:2 / B:1', 'missing_in_b: A:3 / ']);
    expect(r.exceptions[0].evidence).toEqual({ count_a: 2, count_b: 1, rules: 'exact' });
    expect(r.exceptions[0].difference).toBe('10.00');
  });

  it('does not call repeated keys duplicates when no rule expects unique keys', () => {
    const r = run(
      exact,
      [
        ['K', '10.00'],
        ['K', '20.00'],
      ],
      [['K', '10.50']],
    );
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ', 'missing_in_b: A:2 / ', 'missing_in_a:  / B:1']);
  });

  it('says so when the amounts agree but no rule matched the pair', () => {
    const r = run(
      [{ id: 'agg', type: 'aggregated' }],
      [
        ['K', '10.00'],
        ['K', '5.00'],
      ],
      [
        ['K', '10.00'],
        ['K', '7.00'],
      ],
    );
    expect(exceptionList(r)).toEqual(['amount_mismatch: A:1 / B:1', 'missing_in_b: A:2 / ', 'missing_in_a:  / B:2']);
    expect(r.exceptions[0].evidence).toEqual({ difference: '0.00', amounts_agree: true });
  });
});

describe('precedence between categories', () => {
  it('prefers a sign reversal to a transposition or rounding candidate for the same record', () => {
    const r = run(
      exact,
      [['K', '0.01']],
      [
        ['K', '0.02'],
        ['K', '-0.01'],
      ],
    );
    expect(exceptionList(r)).toEqual(['sign_reversal: A:1 / B:2', 'missing_in_a:  / B:1']);
  });

  it('prefers a transposition to rounding when a wide rounding tolerance covers it too', () => {
    const r = run(exact, [['K', '12.34']], [['K', '12.43']], { categorisation: { rounding_tolerance: '0.10' } });
    expect(exceptionList(r)).toEqual(['transposition: A:1 / B:1']);
  });

  it('prefers a timing difference to every pairwise category', () => {
    const r = run(
      exactByDate,
      [['K', '10.00', '2026-01-01']],
      [
        ['K', '-10.00', '2026-01-01'],
        ['K', '10.00', '2026-01-04'],
      ],
    );
    expect(exceptionList(r)).toEqual(['timing_difference: A:1 / B:2', 'missing_in_a:  / B:1']);
  });

  it('calls a difference within the tolerance rule rounding when it is within the rounding unit', () => {
    const r = run(
      [{ id: 'tol', type: 'tolerance', absolute: '0.05' }],
      [
        ['K', '10.00'],
        ['L', '10.00'],
      ],
      [
        ['K', '10.01'],
        ['L', '10.04'],
      ],
    );
    expect(exceptionList(r)).toEqual(['rounding: A:1 / B:1', 'within_tolerance: A:2 / B:2']);
    expect(r.exceptions.map((e) => [e.open, e.rule])).toEqual([
      [false, 'tol'],
      [false, 'tol'],
    ]);
    expect(r.exceptions[1].evidence).toEqual({ difference: '-0.04', rule: 'tol', rule_type: 'tolerance' });
    expect(r.summary.open_exceptions).toBe(0);
    expect(r.summary.a.records_matched).toBe(2);
  });

  it('pairs leftovers only on unambiguous evidence: two candidates for one record pair neither', () => {
    const r = run(
      exactByDate,
      [
        ['EUR', '10.00', '2026-01-02'],
        ['EUR', '-45.10', '2026-01-02'],
      ],
      [
        ['EUR', '10.00', '2026-01-01'],
        ['EUR', '10.00', '2026-01-05'],
        ['EUR', '45.10', '2026-01-03'],
      ],
    );
    expect(exceptionList(r)).toEqual([
      'sign_reversal: A:2 / B:3',
      'missing_in_b: A:1 / ',
      'missing_in_a:  / B:1',
      'missing_in_a:  / B:2',
    ]);
    expect(r.exceptions[1].evidence).toEqual({
      key_on_other_side: 3,
      ambiguous_category: 'timing_difference',
      candidates: 2,
    });
  });

  it('stops searching pairs beyond the pairing budget and says so', () => {
    const r = run(
      exact,
      [
        ['K', '10.00'],
        ['K', '20.00'],
      ],
      [
        ['K', '-20.00'],
        ['K', '30.00'],
      ],
      { categorisation: { max_pairing_work: 1 } },
    );
    // Same and opposite amounts are found through an index, without spending the budget; the rest is not searched.
    expect(exceptionList(r)).toEqual(['sign_reversal: A:2 / B:1', 'missing_in_b: A:1 / ', 'missing_in_a:  / B:2']);
    expect(r.exceptions[1].evidence).toEqual({ key_on_other_side: 2, pairing_search_truncated: true });
  });
});

describe('transposition', () => {
  it('needs two adjacent, different digits swapped and everything else equal', () => {
    expect(transposition(1234, 1243, 2)).toEqual({ digitsA: '1234', digitsB: '1243', position: 2 });
    expect(transposition(-2134, -1234, 2)).toEqual({ digitsA: '2134', digitsB: '1234', position: 0 });
    expect(transposition(1234, 1234, 2)).toBeUndefined();
    expect(transposition(1234, -1243, 2)).toBeUndefined();
    expect(transposition(1000, 1018, 2)).toBeUndefined(); // divisible by 9, no swap
    expect(transposition(1234, 4231, 2)).toBeUndefined(); // not adjacent
    expect(transposition(123, 1023, 2)).toBeUndefined(); // 1.23 vs 10.23: different length
    expect(transposition(1230, 1239, 2)).toBeUndefined(); // only the last digit differs
    expect(transposition(12345, 21354, 2)).toBeUndefined(); // two swaps
  });
});

describe('every record in exactly one place', () => {
  it('puts each record in one match or one open exception, never both and never nowhere', () => {
    const rules = [
      { id: 'exact', type: 'exact' as const, compare_date: true, expect_unique: true },
      { id: 'win', type: 'date_window' as const, days: 2 },
      { id: 'tol', type: 'tolerance' as const, absolute: '0.03' },
      { id: 'agg', type: 'aggregated' as const, cardinality: 'many_to_many' as const },
      { id: 'sub', type: 'subset_sum' as const, cardinality: 'many_to_many' as const, max_combinations: 50 },
    ];
    for (let seed = 1; seed <= 25; seed++) {
      const [a, b] = prngRows(seed, 60);
      const r = run(rules, a, b);
      const seen = new Map<string, string>();
      for (const m of r.matches)
        for (const id of [...m.a, ...m.b]) {
          expect(seen.get(id)).toBeUndefined();
          seen.set(id, 'match');
        }
      for (const e of r.exceptions)
        for (const id of [...e.a, ...e.b]) {
          if (e.open) {
            expect(seen.get(id)).toBeUndefined();
            seen.set(id, e.category);
          } else expect(seen.get(id)).toBe('match');
        }
      expect(seen.size).toBe(a.length + b.length);
      expect(r.summary.a.records_matched + r.summary.a.records_unmatched).toBe(a.length);
    }
  });
});
