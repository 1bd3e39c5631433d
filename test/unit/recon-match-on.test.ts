import { exceptionList, matchList, run } from './recon-fixtures';

// Keyed by currency (the bank statement and the GL share no key); the reference is found in the text upstream.
const byReference = [
  { id: 'ref', type: 'exact' as const, match_on: ['ref'] },
  { id: 'ref-tol', type: 'tolerance' as const, absolute: '0.05', max_days_apart: 5, match_on: ['ref'] },
];

describe('rules matching on fields other than the key', () => {
  it('pairs equal amounts only when the reference agrees, whatever the input order', () => {
    const r = run(
      byReference,
      [
        ['EUR', '100.00', '2026-01-05', { ref: 'INV-000002' }],
        ['EUR', '100.00', '2026-01-05', { ref: 'INV-000001' }],
      ],
      [
        ['EUR', '100.00', '2026-01-06', { ref: 'INV-000001' }],
        ['EUR', '100.00', '2026-01-06', { ref: 'INV-000002' }],
      ],
    );
    expect(matchList(r)).toEqual(['ref: A:1 = B:2', 'ref: A:2 = B:1']);
  });

  it('never treats two missing references as equal', () => {
    const r = run(
      [{ id: 'ref', type: 'exact', match_on: ['ref'] }],
      [['EUR', '100.00', '2026-01-05', { ref: '' }]],
      [['EUR', '100.00', '2026-01-05']],
    );
    expect(r.matches).toEqual([]);
  });

  it('combines a reference with an amount tolerance and a date window', () => {
    const r = run(
      byReference,
      [
        ['EUR', '100.00', '2026-01-05', { ref: 'INV-1' }],
        ['EUR', '200.00', '2026-01-05', { ref: 'INV-2' }],
      ],
      [
        ['EUR', '100.04', '2026-01-09', { ref: 'INV-1' }],
        ['EUR', '200.03', '2026-01-20', { ref: 'INV-2' }],
      ],
    );
    expect(matchList(r)).toEqual(['ref-tol: A:1 = B:1']);
    expect(exceptionList(r)).toEqual(['within_tolerance: A:1 / B:1', 'amount_mismatch: A:2 / B:2']);
  });

  it('reports a short payment as an amount mismatch with the reference as evidence', () => {
    const r = run(
      byReference,
      [
        ['EUR', '1000.00', '2026-01-05', { ref: 'INV-123456' }],
        ['EUR', '55.00', '2026-01-05', { ref: 'INV-999999' }],
      ],
      [
        ['EUR', '950.00', '2026-01-07', { ref: 'INV-123456' }],
        ['EUR', '-20.00', '2026-01-07'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['amount_mismatch: A:1 / B:1', 'missing_in_b: A:2 / ', 'missing_in_a:  / B:2']);
    expect(r.exceptions[0].evidence).toEqual({ match_on: 'ref', reference: 'INV-123456', difference: '50.00' });
  });

  it('proposes when one reference is held twice with the same amount on a side', () => {
    const r = run(
      [{ id: 'ref', type: 'exact', match_on: ['ref'] }],
      [
        ['EUR', '10.00', '2026-01-05', { ref: 'INV-7' }],
        ['EUR', '10.00', '2026-01-06', { ref: 'INV-7' }],
      ],
      [['EUR', '10.00', '2026-01-05', { ref: 'INV-7' }]],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2 / B:1']);
  });

  it('calls the same amount on another day with the same reference a timing difference, naming the reference', () => {
    const r = run(
      [{ id: 'ref-day', type: 'exact', compare_date: true, match_on: ['ref'] }],
      [
        ['EUR', '100.00', '2026-01-05', { ref: 'INV-1' }],
        ['EUR', '40.00', '2026-01-05'],
      ],
      [
        ['EUR', '100.00', '2026-03-20', { ref: 'INV-1' }],
        ['EUR', '75.00', '2026-01-06'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['timing_difference: A:1 / B:1', 'missing_in_b: A:2 / ', 'missing_in_a:  / B:2']);
    // 74 days apart: beyond the 31-day timing window that pairs records without a reference.
    expect(r.exceptions[0].evidence).toEqual({
      match_on: 'ref',
      reference: 'INV-1',
      date_a: '2026-01-05',
      date_b: '2026-03-20',
      days_apart: 74,
    });
  });

  it('calls the opposite amount with the same reference a sign reversal, naming the reference', () => {
    const r = run(
      byReference,
      [
        ['EUR', '100.00', '2026-01-05', { ref: 'INV-2' }],
        ['EUR', '40.00', '2026-01-05'],
      ],
      [
        ['EUR', '-100.00', '2026-01-05', { ref: 'INV-2' }],
        ['EUR', '75.00', '2026-01-06'],
      ],
    );
    expect(exceptionList(r)).toEqual(['sign_reversal: A:1 / B:1', 'missing_in_b: A:2 / ', 'missing_in_a:  / B:2']);
    expect(r.exceptions[0].evidence).toEqual({ match_on: 'ref', reference: 'INV-2', sum: '0.00' });
  });

  it('decides nothing by a reference two leftovers on one side share', () => {
    const r = run(
      byReference,
      [
        ['EUR', '100.00', '2026-01-05', { ref: 'INV-3' }],
        ['EUR', '70.00', '2026-01-05', { ref: 'INV-3' }],
      ],
      [['EUR', '90.00', '2026-01-05', { ref: 'INV-3' }]],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ', 'missing_in_b: A:2 / ', 'missing_in_a:  / B:1']);
    expect(r.exceptions.map((e) => e.evidence)).toEqual([
      { key_on_other_side: 1 },
      { key_on_other_side: 1 },
      { key_on_other_side: 2 },
    ]);
  });
});
