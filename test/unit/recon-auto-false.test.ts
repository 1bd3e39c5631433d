import { parseDefinition } from '../../domain/recon/definition';
import { definition, exceptionList, matchList, run } from './recon-fixtures';

describe('a rule marked auto: false proposes its pairs instead of matching them', () => {
  it('proposes each pair an exact rule finds, matches none of them, and counts them as suggested for the rule', () => {
    const r = run(
      [{ id: 'exact', type: 'exact', auto: false }],
      [
        ['K1', '10.00'],
        ['K2', '20.00'],
      ],
      [
        ['K1', '10.00'],
        ['K2', '20.00'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1 / B:1', 'suggested_match: A:2 / B:2']);
    expect(r.exceptions[0]).toMatchObject({
      open: true,
      rule: 'exact',
      difference: '0.00',
      evidence: {
        rule: 'exact',
        proposed_because: 'rule_not_automatic',
        candidates: 'A:1=B:1',
        candidate_count: 1,
        candidate_index: '0=0',
        amounts_a: '10.00',
        amounts_b: '10.00',
      },
    });
    expect(r.summary.matches_by_rule).toEqual({ exact: 0 });
    expect(r.summary.suggested_by_rule).toEqual({ exact: 2 });
    expect(r.summary.a.records_unmatched).toBe(2);
    expect(r.summary.open_exceptions).toBe(2);
  });

  it('keeps the matches of an earlier automatic rule and proposes only what the manual rule found after it', () => {
    const r = run(
      [
        { id: 'same', type: 'exact' },
        { id: 'near', type: 'tolerance', absolute: '1.00', auto: false },
      ],
      [
        ['K1', '10.00'],
        ['K2', '20.00'],
        ['K3', '30.00'],
      ],
      [
        ['K1', '10.00'],
        ['K2', '20.40'],
        ['K3', '30.00'],
      ],
    );
    expect(matchList(r)).toEqual(['same: A:1 = B:1', 'same: A:3 = B:3']);
    expect(exceptionList(r)).toEqual(['suggested_match: A:2 / B:2']);
    expect(r.exceptions[0]).toMatchObject({ rule: 'near', difference: '-0.40', amount_a: '20.00', amount_b: '20.40' });
    expect(r.summary.matches_by_rule).toEqual({ same: 2, near: 0 });
    expect(r.summary.suggested_by_rule).toEqual({ same: 0, near: 1 });
  });

  it('does not offer the proposed records to a later automatic rule', () => {
    const r = run(
      [
        { id: 'manual', type: 'exact', auto: false },
        { id: 'agg', type: 'aggregated', cardinality: 'many_to_many', absolute: '0.01' },
      ],
      [
        ['K', '10.00'],
        ['K', '4.00'],
        ['K', '6.00'],
      ],
      [
        ['K', '10.00'],
        ['K', '9.99'],
      ],
    );
    // Offered everything, the aggregated rule would have matched all five records (20.00 against 19.99).
    expect(matchList(r)).toEqual(['agg: A:2+A:3 = B:2']);
    expect(exceptionList(r)).toEqual(['rounding: A:2+A:3 / B:2', 'suggested_match: A:1 / B:1']);
    expect(r.summary.matches_by_rule).toEqual({ manual: 0, agg: 1 });
    expect(r.summary.suggested_by_rule).toEqual({ manual: 1, agg: 0 });
  });

  it('proposes a many-to-one group of a manual aggregated rule as one suggestion naming all its records', () => {
    const r = run(
      [{ id: 'agg', type: 'aggregated', auto: false }],
      [
        ['K', '4.00'],
        ['K', '6.00'],
      ],
      [['K', '10.00']],
    );
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2 / B:1']);
    expect(r.exceptions[0].evidence).toMatchObject({
      candidate_index: '0+1=0',
      amounts_a: '4.00,6.00',
      amounts_b: '10.00',
      proposed_because: 'rule_not_automatic',
    });
  });

  it('still lists several candidates when a manual rule meets an ambiguity, saying why it proposed', () => {
    const r = run(
      [{ id: 'exact', type: 'exact', auto: false }],
      [
        ['K', '10.00', '2026-01-01'],
        ['K', '10.00', '2026-01-02'],
      ],
      [['K', '10.00', '2026-01-01']],
    );
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2 / B:1']);
    expect(r.exceptions[0].evidence).toMatchObject({
      candidate_count: 2,
      candidate_index: '0=0 | 1=0',
      proposed_because: 'several_equally_good_candidates',
    });
  });

  it('accepts auto on every rule type and refuses a value that is not a boolean', () => {
    const def = definition([
      { id: 'e', type: 'exact', auto: false },
      { id: 't', type: 'tolerance', absolute: '1', auto: true },
      { id: 'g', type: 'aggregated', auto: false },
      { id: 'w', type: 'date_window', days: 2, auto: false },
      { id: 's', type: 'subset_sum', auto: false },
      { id: 'sw', type: 'sum_window', auto: false },
    ]);
    expect(def.rules.map((r) => r.auto)).toEqual([false, true, false, false, false, false]);
    expect(definition([{ id: 'e', type: 'exact' }]).rules[0].auto).toBeUndefined();
    const bad = { ...def, rules: [{ id: 'e', type: 'exact', auto: 'no' }] };
    expect(() => parseDefinition(bad)).toThrow(/rules\[0\]\.auto|auto/);
  });
});
