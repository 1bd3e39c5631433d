// Leftovers paired on evidence (categorise.ts, categorise-evidence.ts): the cases where the evidence decides nothing.
import { pairEvidence } from '../../domain/recon/categorise-evidence';
import { matchRecords } from '../../domain/recon/match';
import { definition, exceptionList, records, run } from './recon-fixtures';

const exactByDate = [{ id: 'exact', type: 'exact' as const, compare_date: true }];

describe('pairing leftovers on evidence', () => {
  it('pairs neither of two records that are each the only candidate of the same record on the other side', () => {
    const r = run(
      exactByDate,
      [
        ['EUR', '-50.00', '2026-01-02'],
        ['EUR', '-50.00', '2026-01-03'],
      ],
      [['EUR', '50.00', '2026-01-05']],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ', 'missing_in_b: A:2 / ', 'missing_in_a:  / B:1']);
    expect(r.exceptions.map((e) => e.evidence)).toEqual([
      { key_on_other_side: 1, ambiguous_category: 'sign_reversal', candidates: 1 },
      { key_on_other_side: 1, ambiguous_category: 'sign_reversal', candidates: 1 },
      { key_on_other_side: 2, ambiguous_category: 'sign_reversal', candidates: 2 },
    ]);
  });

  it('never calls two zero amounts a sign reversal', () => {
    // Further apart than the 31-day timing window, so no timing difference either: two separate items.
    const r = run(exactByDate, [['K', '0.00', '2026-01-01']], [['K', '0.00', '2026-03-01']]);
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ', 'missing_in_a:  / B:1']);
    expect(r.exceptions.map((e) => e.evidence)).toEqual([{ key_on_other_side: 1 }, { key_on_other_side: 1 }]);
  });

  it('judges a pair by the evidence of the pass alone: a different amount is no timing difference, an equal one no sign reversal', () => {
    const def = definition(exactByDate);
    const s = matchRecords(
      records(def, 'a', [
        ['EUR', '10.00', '2026-01-05'],
        ['EUR', '10.00', '2026-01-05'],
      ]),
      records(def, 'b', [
        ['EUR', '10.01', '2026-01-05'],
        ['EUR', '10.00', '2026-01-07'],
      ]),
      def,
    );
    const limits = { scale: 2, window: 31, roundingLimit: 1 };
    expect(pairEvidence(s, 0, 0, 0, limits)).toBeUndefined();
    expect(pairEvidence(s, 0, 1, 1, limits)).toMatchObject({
      category: 'timing_difference',
      evidence: { days_apart: 2 },
    });
    expect(pairEvidence(s, 1, 1, 1, limits)).toBeUndefined();
    expect(pairEvidence(s, 3, 0, 0, limits)).toEqual({
      category: 'rounding',
      evidence: { difference: '-0.01', rounding_tolerance: '0.01' },
    });
  });
});
