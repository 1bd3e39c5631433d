import { NO_DAY, dayNumber, matchRecords } from '../../domain/recon/match';
import { definition, exceptionList, matchList, records, run } from './recon-fixtures';

describe('exact rule', () => {
  const exact = [{ id: 'exact', type: 'exact' as const }];

  it('pairs one record per key and side when the amounts agree', () => {
    const r = run(exact, [['K1', '10.00']], [['K1', '10.00']]);
    expect(matchList(r)).toEqual(['exact: A:1 = B:1']);
    expect(r.exceptions).toEqual([]);
  });

  it('leaves records with different amounts or different keys unmatched', () => {
    const r = run(
      exact,
      [
        ['K1', '10.00'],
        ['K2', '5.00'],
      ],
      [
        ['K1', '10.01'],
        ['K3', '5.00'],
      ],
    );
    expect(r.matches).toEqual([]);
  });

  it('pairs alike records (same amount and date) of a key holding several, as many on each side', () => {
    const r = run(
      exact,
      [
        ['K', '10.00'],
        ['K', '20.00'],
        ['K', '10.00'],
      ],
      [
        ['K', '30.00'],
        ['K', '10.00'],
        ['K', '10.00'],
      ],
    );
    expect(matchList(r)).toEqual(['exact: A:1 = B:2', 'exact: A:3 = B:3']);
  });

  it('compares dates when asked, on the single and the multi-record path', () => {
    const rules = [{ id: 'exact', type: 'exact' as const, compare_date: true }];
    const single = run(rules, [['K', '10.00', '2026-01-01']], [['K', '10.00', '2026-01-02']]);
    expect(single.matches).toEqual([]);
    const multi = run(
      rules,
      [
        ['K', '10.00', '2026-01-01'],
        ['K', '10.00', '2026-01-02'],
      ],
      [
        ['K', '10.00', '2026-01-02'],
        ['K', '10.00', '2026-01-03'],
      ],
    );
    expect(matchList(multi)).toEqual(['exact: A:2 = B:1']);
  });

  it('never pairs records in different currencies', () => {
    const r = run(exact, [['K', '10.00', undefined, { ccy: 'USD' }]], [['K', '10.00']]);
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ', 'missing_in_a:  / B:1']);
  });

  it('leaves a key that occurs twice alone when it expects unique keys', () => {
    const rules = [{ id: 'exact', type: 'exact' as const, expect_unique: true }];
    const r = run(
      rules,
      [
        ['K', '10.00'],
        ['K', '10.00'],
        ['L', '1.00'],
      ],
      [
        ['K', '10.00'],
        ['L', '1.00'],
      ],
    );
    expect(matchList(r)).toEqual(['exact: A:3 = B:2']);
    expect(exceptionList(r)).toEqual(['duplicate_key: A:1+A:2 / B:1']);
  });
});

describe('tolerance rule', () => {
  it('accepts a difference up to the absolute limit and no more', () => {
    const rules = [{ id: 'tol', type: 'tolerance' as const, absolute: '0.05' }];
    const r = run(
      rules,
      [
        ['K1', '10.00'],
        ['K2', '10.00'],
      ],
      [
        ['K1', '10.05'],
        ['K2', '10.06'],
      ],
    );
    expect(matchList(r)).toEqual(['tol: A:1 = B:1']);
    expect(r.matches[0].difference).toBe('-0.05');
  });

  it('takes a percentage of the larger absolute amount', () => {
    const rules = [{ id: 'pct', type: 'tolerance' as const, percent: '1' }];
    const r = run(
      rules,
      [
        ['K1', '100.00'],
        ['K2', '100.00'],
        ['K3', '-100.00'],
      ],
      [
        ['K1', '101.00'],
        ['K2', '101.02'],
        ['K3', '-99.00'],
      ],
    );
    expect(matchList(r)).toEqual(['pct: A:1 = B:1', 'pct: A:3 = B:3']);
  });

  it('needs every limit with combine all and one of them with combine any', () => {
    const pair: [string, string][] = [['K', '100.00']];
    const b: [string, string][] = [['K', '100.50']];
    const all = [{ id: 't', type: 'tolerance' as const, absolute: '1.00', percent: '0.1' }];
    const any = [{ id: 't', type: 'tolerance' as const, absolute: '1.00', percent: '0.1', combine: 'any' as const }];
    const anyPctOnly = [
      { id: 't', type: 'tolerance' as const, absolute: '0.10', percent: '1', combine: 'any' as const },
    ];
    const allBoth = [{ id: 't', type: 'tolerance' as const, absolute: '1.00', percent: '1' }];
    expect(run(all, pair, b).matches).toHaveLength(0);
    expect(run(any, pair, b).matches).toHaveLength(1);
    expect(run(anyPctOnly, pair, b).matches).toHaveLength(1);
    expect(run(allBoth, pair, b).matches).toHaveLength(1);
  });

  it('gives each record the nearest amount within the limit, and proposes a tie instead of breaking it', () => {
    const rules = [{ id: 'tol', type: 'tolerance' as const, absolute: '0.10' }];
    const r = run(
      rules,
      [
        ['K', '10.00'],
        ['K', '20.00'],
        ['K', '50.00'],
      ],
      [
        ['K', '20.05'],
        ['K', '10.05'],
        ['K', '9.95'],
        ['K', '19.98'],
        ['K', '30.00'],
      ],
    );
    expect(matchList(r)).toEqual(['tol: A:2 = B:4']);
    // 10.05 and 9.95 are equally near 10.00.
    expect(exceptionList(r)).toContain('suggested_match: A:1 / B:2+B:3');
    expect(r.exceptions.find((e) => e.category === 'suggested_match')?.evidence).toMatchObject({
      rule: 'tol',
      candidates: 'A:1=B:2 | A:1=B:3',
    });
  });

  it('skips candidates already taken in the same key', () => {
    const rules = [{ id: 'tol', type: 'tolerance' as const, absolute: '1.00' }];
    const r = run(
      rules,
      [
        ['K', '10.00'],
        ['K', '10.00'],
        ['K', '10.00'],
        ['K', '10.00'],
      ],
      [
        ['K', '10.60'],
        ['K', '9.50'],
        ['K', '10.20'],
        ['K', '9.90'],
      ],
    );
    expect(matchList(r)).toEqual(['tol: A:1 = B:4', 'tol: A:2 = B:3', 'tol: A:3 = B:2', 'tol: A:4 = B:1']);
  });

  it('pairs alike candidates (same amount and date) in input order and stops at candidates outside the limit', () => {
    const rules = [{ id: 'tol', type: 'tolerance' as const, absolute: '0.05' }];
    const r = run(
      rules,
      [
        ['K', '0.50'],
        ['K', '10.00'],
        ['K', '10.00'],
        ['K', '5.00'],
      ],
      [
        ['K', '1.00'],
        ['K', '10.02'],
        ['K', '10.02'],
      ],
    );
    expect(matchList(r)).toEqual(['tol: A:2 = B:2', 'tol: A:3 = B:3']);
  });

  it('also requires the dates to be close when max_days_apart is set', () => {
    const rules = [{ id: 'tol', type: 'tolerance' as const, absolute: '1.00', max_days_apart: 2 }];
    const single = run(rules, [['K', '10.00', '2026-01-01']], [['K', '10.10', '2026-01-04']]);
    expect(single.matches).toEqual([]);
    const multi = run(
      rules,
      [
        ['K', '10.00', '2026-01-10'],
        ['K', '10.00', '2026-01-10'],
      ],
      [
        ['K', '10.01', '2026-02-10'],
        ['K', '9.99', '2026-02-10'],
        ['K', '10.50', '2026-01-11'],
        ['K', '9.20', '2026-01-09'],
      ],
    );
    expect(matchList(multi)).toEqual(['tol: A:1 = B:3', 'tol: A:2 = B:4']);
  });

  it('never matches records without dates when dates must be close', () => {
    const def = definition([{ id: 'tol', type: 'tolerance', absolute: '1.00', max_days_apart: 2 }]);
    const a = records(def, 'a', [['K', '10.00']]);
    const b = records(def, 'b', [['K', '10.00']]);
    const s = matchRecords([{ ...a[0], date: null }], b, def);
    expect(s.groups.rule).toEqual([]);
    const s2 = matchRecords(a, [{ ...b[0], date: null }], def);
    expect(s2.groups.rule).toEqual([]);
  });

  it('treats a difference beyond the exact number range as outside any absolute limit', () => {
    const rules = [{ id: 'tol', type: 'tolerance' as const, absolute: '99999999999999999' }];
    const r = run(rules, [['K', '90000000000000.00']], [['K', '-90000000000000.00']]);
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['sign_reversal: A:1 / B:1']);
  });

  it('leaves duplicated keys alone when it expects unique keys', () => {
    const rules = [{ id: 'tol', type: 'tolerance' as const, absolute: '1.00', expect_unique: true }];
    const r = run(
      rules,
      [['K', '10.00']],
      [
        ['K', '10.10'],
        ['K', '10.20'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['duplicate_key: A:1 / B:1+B:2']);
  });
});

describe('aggregated rule', () => {
  it('matches one record against several of the same key when the sums agree (many to one, both ways)', () => {
    const rules = [{ id: 'agg', type: 'aggregated' as const }];
    const r = run(
      rules,
      [
        ['K', '100.00'],
        ['L', '30.00'],
        ['L', '20.00'],
      ],
      [
        ['K', '60.00'],
        ['K', '40.00'],
        ['L', '50.00'],
      ],
    );
    expect(matchList(r)).toEqual(['agg: A:1 = B:1+B:2', 'agg: A:2+A:3 = B:3']);
    expect(r.matches[0]).toMatchObject({ amount_a: '100.00', amount_b: '100.00', difference: '0.00', key: 'K' });
  });

  it('needs many_to_many for several records on both sides', () => {
    const a: [string, string][] = [
      ['K', '30.00'],
      ['K', '70.00'],
    ];
    const b: [string, string][] = [
      ['K', '50.00'],
      ['K', '50.00'],
    ];
    expect(run([{ id: 'agg', type: 'aggregated' }], a, b).matches).toEqual([]);
    expect(matchList(run([{ id: 'agg', type: 'aggregated', cardinality: 'many_to_many' }], a, b))).toEqual([
      'agg: A:1+A:2 = B:1+B:2',
    ]);
  });

  it('does not treat one record against one as an aggregate', () => {
    const r = run([{ id: 'agg', type: 'aggregated' }], [['K', '10.00', '2026-01-01']], [['K', '10.00', '2026-01-20']]);
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['timing_difference: A:1 / B:1']);
  });

  it('accepts sums within its absolute limit and refuses sums beyond it', () => {
    const rules = [{ id: 'agg', type: 'aggregated' as const, absolute: '0.02' }];
    const r = run(
      rules,
      [
        ['K', '100.00'],
        ['L', '100.00'],
      ],
      [
        ['K', '60.00'],
        ['K', '40.02'],
        ['L', '60.00'],
        ['L', '40.03'],
      ],
    );
    expect(matchList(r)).toEqual(['agg: A:1 = B:1+B:2']);
    expect(exceptionList(r)).toEqual([
      'within_tolerance: A:1 / B:1+B:2',
      'missing_in_b: A:2 / ',
      'missing_in_a:  / B:3',
      'missing_in_a:  / B:4',
    ]);
  });
});

describe('date window rule', () => {
  const rules = [{ id: 'win', type: 'date_window' as const, days: 3 }];

  it('pairs the same key and amount with dates up to N days apart', () => {
    const r = run(
      rules,
      [
        ['K1', '10.00', '2026-01-01'],
        ['K2', '10.00', '2026-01-01'],
        ['K3', '10.00', '2026-01-01'],
      ],
      [
        ['K1', '10.00', '2026-01-04'],
        ['K2', '10.00', '2026-01-05'],
        ['K3', '10.01', '2026-01-01'],
      ],
    );
    expect(matchList(r)).toEqual(['win: A:1 = B:1']);
  });

  it('pairs as many records of one key as the window allows, earliest first', () => {
    const r = run(
      rules,
      [
        ['K', '10.00', '2026-01-10'],
        ['K', '10.00', '2026-01-01'],
        ['K', '10.00', '2026-01-20'],
        ['K', '99.00', '2026-01-01'],
      ],
      [
        ['K', '10.00', '2026-01-12'],
        ['K', '10.00', '2025-12-01'],
        ['K', '10.00', '2026-01-03'],
        ['K', '20.00', '2026-01-01'],
      ],
    );
    expect(matchList(r)).toEqual(['win: A:2 = B:3', 'win: A:1 = B:1']);
  });

  it('passes over records too early to pair, and proposes two equally good candidates instead of picking one', () => {
    const r = run(
      rules,
      [
        ['K', '10.00', '2026-01-01'],
        ['K', '10.00', '2026-01-20'],
        ['K', '10.00', '2026-01-20'],
      ],
      [
        ['K', '10.00', '2025-11-01'],
        ['K', '10.00', '2026-01-19'],
        ['K', '10.00', '2026-03-01'],
      ],
    );
    // A:2 and A:3 are alike (amount, date) and B:2 fits either: the data cannot say which, so it is proposed.
    expect(matchList(r)).toEqual([]);
    expect(exceptionList(r)[0]).toBe('suggested_match: A:2+A:3 / B:2');
    expect(r.exceptions[0].evidence).toEqual({
      rule: 'win',
      rule_type: 'date_window',
      proposed_because: 'several_equally_good_candidates',
      candidates: 'A:2=B:2 | A:3=B:2',
      candidate_count: 2,
      candidate_index: '0=0 | 1=0',
      amounts_a: '10.00,10.00',
      amounts_b: '10.00',
    });
  });

  it('never pairs records without a date', () => {
    const def = definition(rules);
    const a = records(def, 'a', [
      ['K', '10.00'],
      ['L', '10.00'],
      ['L', '10.00'],
    ]);
    const b = records(def, 'b', [
      ['K', '10.00'],
      ['L', '10.00'],
      ['L', '10.00'],
    ]);
    const undated = matchRecords([{ ...a[0], date: null }, a[1], { ...a[2], date: null }], b, def);
    // The dated L on side a has two dated candidates on side b: proposed; the undated records are in no proposal.
    expect(undated.groups.rule).toHaveLength(0);
    expect(undated.suggestions).toMatchObject([{ a: [1], b: [1, 2] }]);
    expect(Array.from(undated.dayA)).toEqual([NO_DAY, undated.dayB[1], NO_DAY]);
    const undatedB = matchRecords(
      a,
      [
        { ...b[0], date: null },
        { ...b[1], date: null },
        { ...b[2], date: null },
      ],
      def,
    );
    expect(undatedB.groups.rule).toEqual([]);
  });

  it('leaves duplicated keys alone when it expects unique keys', () => {
    const r = run(
      [{ id: 'win', type: 'date_window', days: 3, expect_unique: true }],
      [
        ['K', '10.00', '2026-01-01'],
        ['K', '10.00', '2026-01-01'],
      ],
      [['K', '10.00', '2026-01-02']],
    );
    expect(r.matches).toEqual([]);
  });
});

describe('subset-sum rule', () => {
  it('matches one record against several of the same key (one to many, both directions)', () => {
    const rules = [{ id: 'sub', type: 'subset_sum' as const }];
    const r = run(
      rules,
      [
        ['K', '100.00'],
        ['L', '30.00'],
        ['L', '70.00'],
        ['L', '5.00'],
        ['M', '1.00'],
      ],
      [
        ['K', '30.00'],
        ['K', '7.00'],
        ['K', '70.00'],
        ['L', '100.00'],
      ],
    );
    expect(matchList(r)).toEqual(['sub: A:1 = B:1+B:3', 'sub: A:2+A:3 = B:4']);
    expect(exceptionList(r)).toEqual(['missing_in_a:  / B:2', 'missing_in_b: A:4 / ', 'missing_in_b: A:5 / ']);
  });

  it('matches several against several with many_to_many, preferring a group over a single equal record', () => {
    const rules = [{ id: 'sub', type: 'subset_sum' as const, cardinality: 'many_to_many' as const }];
    const r = run(
      rules,
      [
        ['K', '30.00'],
        ['K', '70.00'],
        ['L', '100.00'],
        ['L', '60.00'],
        ['L', '40.00'],
      ],
      [
        ['K', '50.00'],
        ['K', '50.00'],
        ['L', '100.00'],
      ],
    );
    expect(matchList(r)).toEqual(['sub: A:1+A:2 = B:1+B:2', 'sub: A:4+A:5 = B:3']);
  });

  it('proposes instead of matching when two different subsets add up to the same sum', () => {
    const r = run(
      [{ id: 'sub', type: 'subset_sum', cardinality: 'many_to_many' }],
      [
        ['K', '10.00'],
        ['K', '20.00'],
        ['K', '10.00'],
      ],
      [
        ['K', '15.00'],
        ['K', '15.00'],
      ],
    );
    expect(matchList(r)).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2+A:3 / B:1+B:2']);
    expect(r.exceptions[0].evidence).toMatchObject({ candidates: 'A:1+A:2=B:1+B:2 | A:2+A:3=B:1+B:2' });
    expect(r.summary.exceptions_by_category.suggested_match).toBe(1);
  });

  it('never matches one record against one', () => {
    const r = run([{ id: 'sub', type: 'subset_sum', cardinality: 'many_to_many' }], [['K', '10.00']], [['K', '10.00']]);
    expect(r.matches).toEqual([]);
  });

  it('groups by another field across keys, ignoring records without it', () => {
    const rules = [
      { id: 'exact', type: 'exact' as const },
      { id: 'sub', type: 'subset_sum' as const, group_by: { field: 'ref' }, cardinality: 'many_to_many' as const },
    ];
    const r = run(
      rules,
      [
        ['INV1', '30.00', undefined, { ref: 'PAY-1' }],
        ['INV2', '70.00', undefined, { ref: 'PAY-1' }],
        ['INV3', '70.00', undefined, { ref: '' }],
        ['INV4', '70.00'],
        ['INV5', '5.00', undefined, { ref: 'PAY-5' }],
        ['INV9', '9.00', undefined, { ref: 'PAY-9' }],
        ['INV6', '6.00', undefined, { ref: 'PAY-6' }],
      ],
      [
        ['P1', '100.00', undefined, { ref: 'PAY-1' }],
        ['P2', '140.00'],
        ['INV5', '5.00', undefined, { ref: 'PAY-5' }],
        ['Q6', '6.00', undefined, { ref: 'PAY-6' }],
      ],
    );
    expect(matchList(r)).toEqual(['exact: A:5 = B:3', 'sub: A:1+A:2 = B:1']);
    expect(r.matches[1].key).toBe('INV1 + INV2 + P1');
  });

  it('gives up a group larger than max_group_size and keeps its records open', () => {
    const rules = [{ id: 'sub', type: 'subset_sum' as const, max_group_size: 3 }];
    const r = run(
      rules,
      [
        ['K', '1.00'],
        ['K', '2.00'],
        ['K', '3.00'],
        ['K', '4.00'],
      ],
      [['K', '3.00']],
    );
    expect(r.matches).toEqual([]);
    expect(r.gave_up).toEqual([
      {
        rule: 'sub',
        group: 'K',
        currency: 'EUR',
        reason: 'group_too_large',
        a: ['A:1', 'A:2', 'A:3', 'A:4'],
        b: ['B:1'],
        combinations: 0,
      },
    ]);
    expect(r.exceptions).toHaveLength(4);
    for (const e of r.exceptions) expect(e.evidence.subset_sum_gave_up).toBe('sub: group_too_large (K)');
    expect(r.summary.gave_up).toBe(1);
    expect(r.summary.a.records_unmatched).toBe(4);
  });

  it('gives up when the combinations run out, keeping the matches found before', () => {
    // 27 combinations find 3 = 1 + 2 and show it is the only subset adding up to 3; the next search runs out.
    const rules = [{ id: 'sub', type: 'subset_sum' as const, max_combinations: 30 }];
    const r = run(
      rules,
      [
        ['K', '3.00'],
        ['K', '100.00'],
      ],
      [
        ['K', '1.00'],
        ['K', '2.00'],
        ['K', '90.00'],
        ['K', '9.00'],
        ['K', '1.50'],
      ],
    );
    expect(matchList(r)).toEqual(['sub: A:1 = B:1+B:2']);
    expect(r.gave_up).toMatchObject([
      { reason: 'budget_exhausted', combinations: 30, a: ['A:2'], b: ['B:3', 'B:4', 'B:5'] },
    ]);
  });

  it('gives up when the combinations run out while listing the first side', () => {
    const rules = [
      { id: 'sub', type: 'subset_sum' as const, cardinality: 'many_to_many' as const, max_combinations: 2 },
    ];
    const r = run(
      rules,
      [
        ['K', '1.00'],
        ['K', '2.00'],
        ['K', '3.00'],
      ],
      [
        ['K', '3.00'],
        ['K', '3.00'],
      ],
    );
    expect(r.gave_up).toMatchObject([{ reason: 'budget_exhausted', combinations: 2 }]);
    expect(r.matches).toEqual([]);
  });

  it('gives up a group whose amounts could leave the exact number range', () => {
    const rules = [{ id: 'sub', type: 'subset_sum' as const }];
    const r = run(
      rules,
      [['K', '50000000000000.00']],
      [
        ['K', '25000000000000.00'],
        ['K', '25000000000000.00'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(r.gave_up).toMatchObject([{ reason: 'amount_too_large' }]);
  });

  it('finds nothing without giving up when no subset adds up', () => {
    const r = run(
      [{ id: 'sub', type: 'subset_sum' }],
      [['K', '10.00']],
      [
        ['K', '3.00'],
        ['K', '4.00'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(r.gave_up).toEqual([]);
  });
});

describe('rule order', () => {
  it('offers a later rule only the records an earlier rule left in a key', () => {
    const r = run(
      [
        { id: 'exact', type: 'exact' },
        { id: 'tol', type: 'tolerance', absolute: '0.05' },
      ],
      [
        ['K', '10.00'],
        ['K', '20.00'],
      ],
      [
        ['K', '10.00'],
        ['K', '20.03'],
        ['K', '30.00'],
      ],
    );
    expect(matchList(r)).toEqual(['exact: A:1 = B:1', 'tol: A:2 = B:2']);
    expect(exceptionList(r)).toEqual(['within_tolerance: A:2 / B:2', 'missing_in_a:  / B:3']);
  });

  it('runs rules in order and never offers a matched record to a later rule', () => {
    const a: [string, string][] = [
      ['K', '10.00'],
      ['L', '20.00'],
    ];
    const b: [string, string][] = [
      ['K', '10.00'],
      ['K', '0.00'],
      ['L', '20.01'],
    ];
    const exactFirst = run(
      [
        { id: 'exact', type: 'exact' },
        { id: 'tol', type: 'tolerance', absolute: '0.05' },
        { id: 'agg', type: 'aggregated' },
      ],
      a,
      b,
    );
    expect(matchList(exactFirst)).toEqual(['exact: A:1 = B:1', 'tol: A:2 = B:3']);
    expect(exceptionList(exactFirst)).toEqual(['rounding: A:2 / B:3', 'missing_in_a:  / B:2']);

    const aggFirst = run(
      [
        { id: 'agg', type: 'aggregated' },
        { id: 'exact', type: 'exact' },
        { id: 'tol', type: 'tolerance', absolute: '0.05' },
      ],
      a,
      b,
    );
    expect(matchList(aggFirst)).toEqual(['agg: A:1 = B:1+B:2', 'tol: A:2 = B:3']);
    const used = aggFirst.matches.flatMap((m) => [...m.a, ...m.b]);
    expect(new Set(used).size).toBe(used.length);
  });

  it('counts matches per rule in the summary', () => {
    const r = run(
      [
        { id: 'exact', type: 'exact' },
        { id: 'win', type: 'date_window', days: 5 },
      ],
      [
        ['K', '1.00', '2026-01-01'],
        ['L', '1.00', '2026-01-01'],
      ],
      [
        ['K', '1.00', '2026-01-01'],
        ['L', '2.00', '2026-01-02'],
      ],
    );
    expect(r.summary.matches_by_rule).toEqual({ exact: 1, win: 0 });
    expect(r.summary.matches).toBe(1);
  });
});

describe('dayNumber', () => {
  it('counts days from 1970-01-01 across leap years and centuries', () => {
    expect(dayNumber('1970-01-01')).toBe(0);
    expect(dayNumber('2000-03-01') - dayNumber('2000-02-28')).toBe(2);
    expect(dayNumber('1900-03-01') - dayNumber('1900-02-28')).toBe(1);
    expect(dayNumber('2026-01-15')).toBe(Date.UTC(2026, 0, 15) / 86_400_000);
    expect(dayNumber('1969-12-31')).toBe(-1);
  });
});
