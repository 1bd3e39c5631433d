import { mergeSummaries } from '../../domain/recon/control-totals';
import { exceptionList, matchList, run } from './recon-fixtures';

describe('ambiguity is proposed, not picked', () => {
  it('proposes an exact amount held twice on one side and once on the other, matching neither', () => {
    const r = run(
      [{ id: 'exact', type: 'exact' }],
      [
        ['K', '10.00', '2026-01-01'],
        ['K', '10.00', '2026-01-02'],
      ],
      [['K', '10.00', '2026-01-01']],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2 / B:1']);
    expect(r.exceptions[0]).toMatchObject({
      open: true,
      evidence: { rule: 'exact', candidates: 'A:1=B:1 | A:2=B:1', candidate_count: 2 },
    });
  });

  it('lets an earlier same-day rule settle what a later window rule would find ambiguous', () => {
    const r = run(
      [
        { id: 'same-day', type: 'exact', compare_date: true },
        { id: 'win', type: 'date_window', days: 3 },
      ],
      [
        ['EUR', '100.00', '2026-01-05'],
        ['EUR', '100.00', '2026-01-06'],
      ],
      [
        ['EUR', '100.00', '2026-01-06'],
        ['EUR', '100.00', '2026-01-05'],
      ],
    );
    expect(matchList(r).sort()).toEqual(['same-day: A:1 = B:2', 'same-day: A:2 = B:1']);
    expect(r.exceptions).toEqual([]);
  });

  it('proposes equal amounts in the date window when more than one pairing explains them', () => {
    const r = run(
      [{ id: 'win', type: 'date_window', days: 3 }],
      [
        ['EUR', '100.00', '2026-01-05'],
        ['EUR', '100.00', '2026-01-06'],
      ],
      [
        ['EUR', '100.00', '2026-01-07'],
        ['EUR', '100.00', '2026-01-08'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2 / B:1+B:2']);
    expect(r.exceptions[0].evidence).toMatchObject({ candidate_count: 4 });
    expect(r.summary.open_exceptions).toBe(1);
    expect(r.summary.matches_by_rule).toEqual({ win: 0 });
    expect(r.summary.suggested_by_rule).toEqual({ win: 1 });
    expect(r.summary.a.records_unmatched).toBe(2);
  });

  it('matches a cluster whose records admit exactly one pairing', () => {
    // A:1 can only be B:1 (B:2 is 4 days away), which leaves A:2 with B:2.
    const r = run(
      [{ id: 'win', type: 'date_window', days: 2 }],
      [
        ['EUR', '50.00', '2026-01-01'],
        ['EUR', '50.00', '2026-01-03'],
      ],
      [
        ['EUR', '50.00', '2026-01-01'],
        ['EUR', '50.00', '2026-01-05'],
      ],
    );
    expect(matchList(r)).toEqual(['win: A:1 = B:1', 'win: A:2 = B:2']);
  });

  it('proposes a cluster in which no pairing places every record', () => {
    // A:1 and A:2 can only be B:1 (the other receipts are 3 days or more away), so one of them is left over.
    const r = run(
      [{ id: 'win', type: 'date_window', days: 2 }],
      [
        ['EUR', '50.00', '2026-01-08'],
        ['EUR', '50.00', '2026-01-09'],
        ['EUR', '50.00', '2026-01-11'],
      ],
      [
        ['EUR', '50.00', '2026-01-10'],
        ['EUR', '50.00', '2026-01-12'],
        ['EUR', '50.00', '2026-01-13'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2+A:3 / B:1+B:2+B:3']);
    expect(r.exceptions[0].evidence).toMatchObject({
      candidates: 'A:1=B:1 | A:2=B:1 | A:3=B:1 | A:3=B:2 | A:3=B:3',
      candidate_count: 5,
    });
  });

  it('proposes a cluster that leaves a receipt without candidates once the only record of another receipt is taken', () => {
    // Every bank line has two candidates or more; B:1 has only A:1, and once A:1 takes it B:2 has none left.
    const r = run(
      [{ id: 'win', type: 'date_window', days: 2 }],
      [
        ['EUR', '50.00', '2026-01-02'],
        ['EUR', '50.00', '2026-01-05'],
        ['EUR', '50.00', '2026-01-05'],
        ['EUR', '50.00', '2026-01-05'],
      ],
      [
        ['EUR', '50.00', '2026-01-01'],
        ['EUR', '50.00', '2026-01-02'],
        ['EUR', '50.00', '2026-01-03'],
        ['EUR', '50.00', '2026-01-05'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2+A:3+A:4 / B:1+B:2+B:3+B:4']);
    expect(r.exceptions[0].evidence).toMatchObject({ candidate_count: 9 });
  });

  it('proposes the whole cluster when the record a receipt forces leaves two pairings for the rest', () => {
    // B:1 can only be A:1; then A:2 and A:3 could each be B:2 or B:3.
    const r = run(
      [{ id: 'win', type: 'date_window', days: 2 }],
      [
        ['EUR', '50.00', '2026-01-02'],
        ['EUR', '50.00', '2026-01-04'],
        ['EUR', '50.00', '2026-01-04'],
      ],
      [
        ['EUR', '50.00', '2026-01-01'],
        ['EUR', '50.00', '2026-01-03'],
        ['EUR', '50.00', '2026-01-05'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2+A:3 / B:1+B:2+B:3']);
    expect(r.exceptions[0].evidence).toMatchObject({
      candidates: 'A:1=B:1 | A:1=B:2 | A:2=B:2 | A:2=B:3 | A:3=B:2 | A:3=B:3',
      candidate_count: 6,
    });
  });

  it('lists the first 50 candidate pairs of a large proposal and counts them all', () => {
    const days = Array.from({ length: 8 }, (_, d): [string, string, string] => ['K', '10.00', `2026-01-0${d + 1}`]);
    const r = run([{ id: 'exact', type: 'exact' }], days, days);
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toHaveLength(1);
    expect(r.exceptions[0].category).toBe('suggested_match');
    expect(r.exceptions[0].evidence).toMatchObject({ candidate_count: 64, candidates_listed: 50 });
    expect(String(r.exceptions[0].evidence.candidates).split(' | ')).toHaveLength(50);
  });

  it('keeps proposed records from later rules and every record in exactly one place', () => {
    const r = run(
      [
        { id: 'exact', type: 'exact' },
        { id: 'sub', type: 'subset_sum' },
      ],
      [
        ['K', '10.00'],
        ['K', '10.00'],
      ],
      [
        ['K', '10.00'],
        ['K', '20.00'],
      ],
    );
    // The exact rule proposes A:1+A:2 / B:1; the subset rule may not use them for 20.00 = 10.00 + 10.00.
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2 / B:1', 'missing_in_a:  / B:2']);
    expect(r.summary.a.records_in).toBe(r.summary.a.records_matched + r.summary.a.records_unmatched);
  });
});

describe('tolerance ties', () => {
  it('proposes the same amount on two dates within max_days_apart instead of picking one', () => {
    const r = run(
      [{ id: 'tol', type: 'tolerance', absolute: '0.05', max_days_apart: 3 }],
      [['K', '10.00', '2026-01-05']],
      [
        ['K', '10.02', '2026-01-04'],
        ['K', '10.02', '2026-01-06'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1 / B:1+B:2']);
  });
});

describe('suggestions in the summary', () => {
  it('counts suggestions per rule next to the matches, and adds them up when partitions merge', () => {
    const rules = [{ id: 'win', type: 'date_window' as const, days: 3 }];
    const ambiguous = run(
      rules,
      [['EUR', '100.00', '2026-01-05']],
      [
        ['EUR', '100.00', '2026-01-04'],
        ['EUR', '100.00', '2026-01-06'],
      ],
    );
    const clean = run(rules, [['EUR', '5.00', '2026-01-05']], [['EUR', '5.00', '2026-01-06']]);
    const merged = mergeSummaries([ambiguous.summary, clean.summary]);
    expect(merged.matches_by_rule).toEqual({ win: 1 });
    expect(merged.suggested_by_rule).toEqual({ win: 1 });
    expect(merged.exceptions_by_category.suggested_match).toBe(1);
  });
});
