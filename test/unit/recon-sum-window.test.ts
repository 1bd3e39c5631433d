import { findSubsets } from '../../domain/recon/match-sum-window';
import { prng } from './recon-generator';
import { exceptionList, matchList, run } from './recon-fixtures';

// Side a is the bank statement (one credit per deposit slip), side b the GL receipts; keyed by currency.
const deposits = [{ id: 'slip', type: 'sum_window' as const, one_side: 'a' as const, days_before: 2, days_after: 0 }];

describe('sum_window: one record against the sum of several dated around it', () => {
  it('matches a deposit whose receipts span a day boundary', () => {
    const r = run(
      deposits,
      [['EUR', '600.00', '2026-02-01']],
      [
        ['EUR', '100.00', '2026-01-31'],
        ['EUR', '200.00', '2026-01-31'],
        ['EUR', '300.00', '2026-02-01'],
        ['EUR', '50.00', '2026-01-25'],
      ],
    );
    expect(matchList(r)).toEqual(['slip: A:1 = B:3+B:2+B:1']);
    expect(exceptionList(r)).toEqual(['missing_in_a:  / B:4']);
  });

  it('never uses receipts dated outside the window or of the other sign', () => {
    const r = run(
      deposits,
      [['EUR', '300.00', '2026-02-05']],
      [
        ['EUR', '100.00', '2026-02-01'],
        ['EUR', '200.00', '2026-02-05'],
        ['EUR', '400.00', '2026-02-04'],
        ['EUR', '-100.00', '2026-02-04'],
      ],
    );
    expect(r.matches).toEqual([]);
  });

  it('proposes instead of matching when two different sets of receipts add up to the credit', () => {
    const r = run(
      deposits,
      [['EUR', '500.00', '2026-02-01']],
      [
        ['EUR', '200.00', '2026-02-01'],
        ['EUR', '300.00', '2026-02-01'],
        ['EUR', '250.00', '2026-02-01'],
        ['EUR', '250.00', '2026-02-01'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1 / B:1+B:2+B:3+B:4']);
    expect(r.exceptions[0].evidence).toMatchObject({
      rule: 'slip',
      rule_type: 'sum_window',
      candidates: 'A:1=B:2+B:1 | A:1=B:3+B:4',
      candidate_count: 2,
    });
  });

  it('proposes two credits whose only subsets compete for the same receipts', () => {
    const r = run(
      deposits,
      [
        ['EUR', '300.00', '2026-02-01'],
        ['EUR', '400.00', '2026-02-01'],
      ],
      [
        ['EUR', '100.00', '2026-02-01'],
        ['EUR', '200.00', '2026-02-01'],
        ['EUR', '300.00', '2026-02-01'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['suggested_match: A:1+A:2 / B:1+B:2+B:3']);
  });

  it('leaves a credit no set of receipts in its window adds up to, neither proposed nor given up', () => {
    const r = run(
      deposits,
      [['EUR', '100.00', '2026-02-01']],
      [
        ['EUR', '30.00', '2026-02-01'],
        ['EUR', '40.00', '2026-01-31'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(r.gave_up).toEqual([]);
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ', 'missing_in_a:  / B:1', 'missing_in_a:  / B:2']);
  });

  it('matches the deposits of one key while another key holds records on one side only', () => {
    const r = run(
      deposits,
      [
        ['USD', '70.00', '2026-02-01'],
        ['EUR', '600.00', '2026-02-01'],
      ],
      [
        ['EUR', '100.00', '2026-01-31'],
        ['EUR', '500.00', '2026-02-01'],
      ],
    );
    expect(matchList(r)).toEqual(['slip: A:2 = B:2+B:1']);
    expect(exceptionList(r)).toEqual(['missing_in_b: A:1 / ']);
    expect(r.exceptions[0].evidence).toEqual({ key_on_other_side: 0 });
  });

  it('gives up, matching nothing, beyond its candidate and combination bounds', () => {
    const many = Array.from({ length: 12 }, (_, i): [string, string, string] => ['EUR', `${i + 1}.00`, '2026-02-01']);
    const tooMany = run([{ ...deposits[0], max_candidates: 10 }], [['EUR', '30.00', '2026-02-01']], many);
    expect(tooMany.matches).toEqual([]);
    expect(tooMany.gave_up).toMatchObject([{ rule: 'slip', reason: 'group_too_large' }]);
    const budget = run([{ ...deposits[0], max_combinations: 5 }], [['EUR', '50.00', '2026-02-01']], many);
    expect(budget.matches).toEqual([]);
    expect(budget.gave_up).toMatchObject([{ rule: 'slip', reason: 'budget_exhausted' }]);
  });

  it('leaves records tied by a reference to the other side out of any sum', () => {
    const rules = [{ id: 'ref', type: 'exact' as const, match_on: ['ref'] }, deposits[0]];
    const r = run(
      rules,
      [['EUR', '300.00', '2026-02-01', { ref: 'INV-1' }]],
      [
        ['EUR', '100.00', '2026-02-01'],
        ['EUR', '200.00', '2026-02-01'],
        ['EUR', '350.00', '2026-02-01', { ref: 'INV-1' }],
      ],
    );
    // 100 + 200 = 300, but the reference says the bank line is the short payment of INV-1.
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)[0]).toBe('amount_mismatch: A:1 / B:3');
  });

  it('gives up, proposing nothing, when more than three records compete for one pool of receipts', () => {
    const r = run(
      deposits,
      [
        ['EUR', '3.00', '2026-02-02'],
        ['EUR', '4.00', '2026-02-02'],
        ['EUR', '5.00', '2026-02-02'],
        ['EUR', '6.00', '2026-02-02'],
      ],
      [
        ['EUR', '1.00', '2026-02-01'],
        ['EUR', '2.00', '2026-02-01'],
        ['EUR', '3.00', '2026-02-02'],
        ['EUR', '4.00', '2026-02-02'],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(r.exceptions.some((e) => e.category === 'suggested_match')).toBe(false);
    expect(r.gave_up.map((g) => g.reason)).toEqual(Array(4).fill('group_too_large'));
  });

  it('untangles what it can: a record with one subset of its own is proposed alone, and the rest searched again without it', () => {
    // Five credits compete for six receipts: 30 = 10+20 only; 50 = 10+40 or 20+30; 90 and 110 several ways; the
    // second 90, two days later, sees neither 10 nor 20 (dated before its window).
    const r = run(
      deposits,
      [
        ['EUR', '30.00', '2026-02-02'],
        ['EUR', '50.00', '2026-02-02'],
        ['EUR', '90.00', '2026-02-02'],
        ['EUR', '110.00', '2026-02-02'],
        ['EUR', '90.00', '2026-02-04'],
      ],
      [
        ['EUR', '10.00', '2026-02-01'],
        ['EUR', '20.00', '2026-02-01'],
        ['EUR', '30.00', '2026-02-02'],
        ['EUR', '40.00', '2026-02-02'],
        ['EUR', '50.00', '2026-02-02'],
        ['EUR', '60.00', '2026-02-02'],
      ],
    );
    // 30 takes 10+20 (proposed, one candidate); searched again without them, 110 = 50+60 only (proposed next);
    // 50 and both 90s have no subset left and are given up. Nothing is matched: a person confirms each proposal.
    expect(r.matches).toEqual([]);
    expect(exceptionList(r).filter((e) => e.startsWith('suggested_match'))).toEqual([
      'suggested_match: A:1 / B:1+B:2',
      'suggested_match: A:4 / B:5+B:6',
    ]);
    expect(r.exceptions.find((e) => e.a[0] === 'A:4')?.evidence).toMatchObject({
      rule: 'slip',
      candidates: 'A:4=B:5+B:6',
      candidate_count: 1,
    });
    expect(r.gave_up.map((g) => [g.b[0] ?? g.a[0], g.reason, g.combinations])).toEqual([
      ['A:2', 'group_too_large', 0],
      ['A:3', 'group_too_large', 0],
      ['A:5', 'group_too_large', 0],
    ]);
    expect(r.gave_up[0].group).toBe('A:2: 5 records compete for 6');
  });

  function plantedSearch(n: number, planted: number[]) {
    const rnd = prng(7);
    const values = Array.from({ length: n }, () => 100_00 + Math.floor(rnd() * 5_000_00));
    const target = planted.reduce((t, p) => t + values[p], 0);
    const order = values.map((_, i) => i).sort((x, y) => values[y] - values[x] || x - y);
    const search = { budget: 5_000_000, tried: 0 };
    const found = findSubsets(
      order.map((i) => values[i]),
      target,
      2,
      8,
      search,
    );
    expect(found).not.toBe('budget');
    const subsets = (found as number[][]).map((s) => s.map((p) => order[p]).sort((x, y) => x - y));
    for (const s of subsets) expect(s.reduce((t, p) => t + values[p], 0)).toBe(target);
    return { subsets, tried: search.tried };
  }

  it('finds the one planted subset among 20 candidates, searching all of them within its budget', () => {
    const { subsets, tried } = plantedSearch(20, [3, 7, 11, 16, 19]);
    expect(subsets).toEqual([[3, 7, 11, 16, 19]]);
    expect(tried).toBeLessThan(300_000);
  });

  it('comes back with two subsets when 60 candidates in the window make the sum ambiguous', () => {
    // Sums of up to 8 of 60 amounts collide: the rule must propose, and the search says so quickly.
    const { subsets } = plantedSearch(60, [3, 17, 29, 41, 58]);
    expect(subsets).toHaveLength(2);
  });

  it('is refused with min_items above max_items', () => {
    expect(() => run([{ ...deposits[0], min_items: 5, max_items: 3 }], [], [])).toThrow(/min_items may not exceed/);
  });
});
