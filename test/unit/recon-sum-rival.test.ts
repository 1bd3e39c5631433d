import { chanceSubsets } from '../../domain/recon/match-sum-rival';
import { exceptionList, matchList, run } from './recon-fixtures';

// Side a is the bank statement, side b the GL; keyed by currency, as a bank reconciliation without a shared key.
const window = { id: 'window', type: 'date_window' as const, days: 3 };
const slip = { id: 'slip', type: 'sum_window' as const, one_side: 'a' as const, days_before: 1, days_after: 0 };

describe('a one-to-one pair that a later sum_window rule could explain as a sum', () => {
  it("proposes a deposit slip whose total equals another slip's receipt in the window, matching neither", () => {
    // Slip 1 (bank 300.00 on 10 Feb) = receipts 120.00 + 180.00 of 9-10 Feb; slip 2 (bank 750.00 on 12 Feb) =
    // receipts 300.00 + 450.00 of 11-12 Feb. The window rule alone paired slip 1's bank line with slip 2's 300.00.
    const r = run(
      [window, slip],
      [
        ['EUR', '300.00', '2026-02-10'],
        ['EUR', '750.00', '2026-02-12'],
      ],
      [
        ['EUR', '120.00', '2026-02-09'],
        ['EUR', '180.00', '2026-02-10'],
        ['EUR', '300.00', '2026-02-11'],
        ['EUR', '450.00', '2026-02-12'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toContain('suggested_match: A:1 / B:1+B:2+B:3');
    const proposal = r.exceptions.find((e) => e.category === 'suggested_match');
    expect(proposal?.evidence).toMatchObject({ rule: 'window', candidates: 'A:1=B:3 | A:1=B:1+B:2', candidate_count: 2 });
    expect(r.summary.suggested_by_rule).toEqual({ window: 1, slip: 0 });
  });

  it('keeps the pair when no set of records in the sum rule window adds up to the amount', () => {
    const r = run(
      [window, slip],
      [['EUR', '300.00', '2026-02-10']],
      [
        ['EUR', '120.00', '2026-02-09'],
        ['EUR', '170.00', '2026-02-10'],
        ['EUR', '300.00', '2026-02-11'],
      ],
    );
    expect(matchList(r)).toEqual(['window: A:1 = B:3']);
  });

  it('keeps the pair when the window holds so many records that a sum reaching the amount is chance', () => {
    // 40 receipts of 1.00..40.00: hundreds of subsets of up to 8 of them reach 100.00, none of them evidence.
    const receipts = Array.from({ length: 40 }, (_, n): [string, string, string] => ['EUR', `${n + 1}.00`, '2026-02-10']);
    const r = run([window, slip], [['EUR', '100.00', '2026-02-10']], [...receipts, ['EUR', '100.00', '2026-02-12']]);
    expect(matchList(r)).toEqual(['window: A:1 = B:41']);
    expect(r.exceptions.some((e) => e.category === 'suggested_match')).toBe(false);
  });

  it('keeps the pair when the window holds more records than the sum rule searches, or fewer than a sum needs', () => {
    const tooMany = run(
      [window, { ...slip, max_candidates: 2 }],
      [['EUR', '300.00', '2026-02-10']],
      [
        ['EUR', '100.00', '2026-02-10'],
        ['EUR', '150.00', '2026-02-10'],
        ['EUR', '50.00', '2026-02-10'],
        ['EUR', '300.00', '2026-02-11'],
      ],
    );
    expect(matchList(tooMany)).toEqual(['window: A:1 = B:4']);
    const tooFew = run(
      [window, { ...slip, min_items: 3 }],
      [['EUR', '300.00', '2026-02-10']],
      [
        ['EUR', '100.00', '2026-02-10'],
        ['EUR', '200.00', '2026-02-10'],
        ['EUR', '300.00', '2026-02-11'],
      ],
    );
    expect(matchList(tooFew)).toEqual(['window: A:1 = B:3']);
  });

  it('keeps the pair when the sum search runs out of its budget before showing a subset', () => {
    const r = run(
      [window, { ...slip, max_combinations: 1 }],
      [['EUR', '300.00', '2026-02-10']],
      [
        ['EUR', '100.00', '2026-02-10'],
        ['EUR', '200.00', '2026-02-10'],
        ['EUR', '300.00', '2026-02-11'],
      ],
    );
    expect(matchList(r)).toEqual(['window: A:1 = B:3']);
  });

  it('keeps pairs of zero amounts, and every pair when no sum rule follows the one-to-one rule', () => {
    const zero = run(
      [{ id: 'same', type: 'exact' }, slip],
      [['EUR', '0.00', '2026-02-10']],
      [['EUR', '0.00', '2026-02-10']],
    );
    expect(matchList(zero)).toEqual(['same: A:1 = B:1']);
    const noSum = run(
      [window],
      [['EUR', '300.00', '2026-02-10']],
      [
        ['EUR', '100.00', '2026-02-10'],
        ['EUR', '200.00', '2026-02-10'],
        ['EUR', '300.00', '2026-02-11'],
      ],
    );
    expect(matchList(noSum)).toEqual(['window: A:1 = B:3']);
  });

  it('reviews exact and tolerance pairs too, and a sum rule whose one side is b', () => {
    const exact = run(
      [{ id: 'same', type: 'exact' }, { ...slip, one_side: 'b' }],
      [
        ['EUR', '100.00', '2026-02-10'],
        ['EUR', '200.00', '2026-02-10'],
        ['EUR', '300.00', '2026-02-10'],
        ['EUR', '40.00', '2026-02-10'],
      ],
      [
        ['EUR', '300.00', '2026-02-10'],
        ['EUR', '40.00', '2026-02-10'],
      ],
    );
    // GL 300.00 is bank 300.00, or bank 100.00 + 200.00; GL 40.00 has no sum and stays matched.
    expect(matchList(exact)).toEqual(['same: A:4 = B:2']);
    expect(exceptionList(exact)).toContain('suggested_match: A:1+A:2+A:3 / B:1');
    const tolerance = run(
      [{ id: 'near', type: 'tolerance', absolute: '0.50' }, slip],
      [['EUR', '300.00', '2026-02-10']],
      [
        ['EUR', '100.00', '2026-02-10'],
        ['EUR', '200.00', '2026-02-10'],
        ['EUR', '300.40', '2026-02-12'],
      ],
    );
    expect(tolerance.matches).toEqual([]);
    expect(exceptionList(tolerance)).toEqual(['suggested_match: A:1 / B:1+B:2+B:3']);
  });

  it('leaves a pair matched when the records of its only sum are already in another proposal of the review', () => {
    // Two bank lines of 300.00 pair with the two GL lines of 300.00; the receipts 100.00 + 200.00 could be the first
    // bank line (proposed with them); the second's only sum needs the same receipts, so it stays matched.
    const r = run(
      [{ id: 'same', type: 'exact' }, { ...slip, one_side: 'a' }],
      [
        ['EUR', '300.00', '2026-02-10'],
        ['EUR', '300.00', '2026-02-10'],
      ],
      [
        ['EUR', '100.00', '2026-02-10'],
        ['EUR', '200.00', '2026-02-10'],
        ['EUR', '300.00', '2026-02-10'],
        ['EUR', '300.00', '2026-02-10'],
      ],
    );
    expect(matchList(r)).toEqual(['same: A:2 = B:4']);
    expect(exceptionList(r)).toContain('suggested_match: A:1 / B:1+B:2+B:3');
  });

  it('never reviews a pair tied by a reference, and keeps the sums earlier rules matched as they were', () => {
    const r = run(
      [
        { id: 'ref', type: 'exact', match_on: ['ref'] },
        { id: 'first-slip', type: 'sum_window', one_side: 'a', days_before: 0, days_after: 0 },
        { id: 'same', type: 'exact' },
        slip,
      ],
      [
        ['EUR', '300.00', '2026-02-10', { ref: 'INV-1' }],
        ['EUR', '500.00', '2026-02-05'],
        ['EUR', '70.00', '2026-02-20'],
      ],
      [
        ['EUR', '300.00', '2026-02-10', { ref: 'INV-1' }],
        ['EUR', '100.00', '2026-02-10'],
        ['EUR', '200.00', '2026-02-10'],
        ['EUR', '450.00', '2026-02-05'],
        ['EUR', '50.00', '2026-02-05'],
        ['EUR', '70.00', '2026-02-20'],
        ['EUR', '30.00', '2026-02-19'],
        ['EUR', '40.00', '2026-02-19'],
      ],
    );
    // The reference decides A:1 (100 + 200 would add up too); A:3's pair with B:6 is proposed beside 30 + 40.
    expect(matchList(r)).toEqual(['ref: A:1 = B:1', 'first-slip: A:2 = B:4+B:5']);
    expect(exceptionList(r)).toContain('suggested_match: A:3 / B:6+B:7+B:8');
  });

  it('estimates the chance subsets from the amounts: an even spread below the target, or their own bell curve', () => {
    // Two receipts of 120.00 and 180.00 against 300.00: the normal estimate (mean 300.00, variance 2 x 30.00²) is
    // the larger.
    expect(chanceSubsets([12000, 18000], 30000, 2, 8)).toBeCloseTo(1 / Math.sqrt(2 * Math.PI * 2 * 3000 ** 2), 12);
    // Spread evenly below the target, C(n, k) / ((k-1)! * target) summed over the sizes.
    expect(chanceSubsets([1, 100], 100, 2, 2)).toBeCloseTo(1 / 100, 12);
    // Three equal amounts: every pair reaches twice their value.
    expect(chanceSubsets([100, 100, 100], 200, 2, 3)).toBeCloseTo(3 + 1 / 400, 12);
    // 136 receipts of 5.00..2,000.00 in the window of a 1,500.00 bank line: thousands of chance subsets.
    const dense = Array.from({ length: 136 }, (_, x) => 500 + Math.round((x * 149500) / 135));
    expect(chanceSubsets(dense, 150000, 2, 8)).toBeGreaterThan(1000);
  });
});

describe('a leftover a sum_window rule could not settle', () => {
  const receipts: [string, string, string][] = [
    ['EUR', '100.00', '2026-02-10'],
    ['EUR', '150.00', '2026-02-10'],
    ['EUR', '50.00', '2026-02-09'],
  ];

  it('is paired by no amount: a bank credit the sum rule gave up stays missing beside an equal GL amount', () => {
    // The credit may be the three receipts (too many candidates for this rule to search); the GL 300.00 fifteen days
    // later is no evidence that the two are one item, so no timing difference is invented between them.
    const r = run(
      [window, { ...slip, max_candidates: 2 }],
      [['EUR', '300.00', '2026-02-10']],
      [...receipts, ['EUR', '300.00', '2026-02-25']],
    );
    expect(r.matches).toEqual([]);
    expect(r.exceptions.some((e) => e.category === 'timing_difference')).toBe(false);
    const credit = r.exceptions.find((e) => e.a.includes('A:1'));
    expect(credit).toMatchObject({ category: 'missing_in_b', b: [] });
    expect(credit?.evidence).toMatchObject({ may_be_a_sum: 'slip' });
    expect(exceptionList(r)).toContain('missing_in_a:  / B:4');
  });

  it('is paired by no amount on side b either, when the sum rule takes its single records from b', () => {
    const r = run(
      [window, { ...slip, one_side: 'b', max_combinations: 1 }],
      [
        ['EUR', '200.00', '2026-02-10'],
        ['EUR', '100.00', '2026-02-10'],
        ['EUR', '-300.00', '2026-03-01'],
      ],
      [['EUR', '300.00', '2026-02-10']],
    );
    expect(r.gave_up).toMatchObject([{ rule: 'slip', reason: 'budget_exhausted' }]);
    // Without the sum, -300.00 and 300.00 would be a sign reversal.
    expect(r.exceptions.some((e) => e.category === 'sign_reversal')).toBe(false);
    expect(r.exceptions.find((e) => e.b.includes('B:1'))?.evidence).toMatchObject({ may_be_a_sum: 'slip' });
  });

  it('still pairs by amount where the sum rule settled nothing about the record (no candidates at all)', () => {
    const r = run([window, slip], [['EUR', '300.00', '2026-02-10']], [['EUR', '300.00', '2026-02-25']]);
    expect(exceptionList(r)).toEqual(['timing_difference: A:1 / B:1']);
  });
});
