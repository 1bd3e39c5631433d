import { itemCount, ItemCountError } from '../../domain/recon/match-sum-reference';
import { findSubsets, MAX_LISTED_SUBSETS } from '../../domain/recon/match-sum-window';
import { definition, exceptionList, matchList, records, run } from './recon-fixtures';

// Side a is the bank statement, side b the GL receipts; keyed by currency. `slip` is the deposit slip number found in
// the text upstream (regex_extract), `n` the statement's item count (camt.053 NtryDtls/Btch/NbOfTxs).
const bySlip = [{ id: 'slip', type: 'sum_by_reference' as const, match_on: ['slip'], count_field: 'n' }];

describe('sum_by_reference: a deposit slip number on both sides decides which receipts a bank line totals', () => {
  it('matches a bank line with every receipt carrying its slip number when they add up, whatever their dates', () => {
    const r = run(
      bySlip,
      [
        ['EUR', '600.00', '2026-02-03', { slip: 'S-1' }],
        ['EUR', '600.00', '2026-02-03', { slip: 'S-2' }],
      ],
      [
        ['EUR', '100.00', '2026-01-20', { slip: 'S-2' }],
        ['EUR', '500.00', '2026-02-01', { slip: 'S-2' }],
        ['EUR', '200.00', '2026-02-01', { slip: 'S-1' }],
        ['EUR', '300.00', '2026-02-01', { slip: 'S-1' }],
        ['EUR', '100.00', '2026-02-02', { slip: 'S-1' }],
      ],
    );
    expect(matchList(r)).toEqual(['slip: A:1 = B:3+B:4+B:5', 'slip: A:2 = B:1+B:2']);
    expect(r.exceptions).toEqual([]);
  });

  it('leaves a slip whose receipts do not add up as one amount_mismatch naming the slip number', () => {
    const r = run(
      bySlip,
      [['EUR', '600.00', '2026-02-03', { slip: 'S-1' }]],
      [
        ['EUR', '200.00', '2026-02-01', { slip: 'S-1' }],
        ['EUR', '350.00', '2026-02-01', { slip: 'S-1' }],
        ['EUR', '50.00', '2026-02-01', { slip: '' }],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(exceptionList(r)).toEqual(['amount_mismatch: A:1 / B:1+B:2', 'missing_in_a:  / B:3']);
    expect(r.exceptions[0].evidence).toEqual({
      match_on: 'slip',
      reference: 'S-1',
      difference: '50.00',
      items_a: 1,
      items_b: 2,
    });
  });

  it('matches only as many receipts as the statement counts, and leaves a count that disagrees to a person', () => {
    const r = run(
      bySlip,
      [
        ['EUR', '600.00', '2026-02-03', { slip: 'S-1', n: '3' }],
        ['EUR', '300.00', '2026-02-03', { slip: 'S-2', n: '3' }],
      ],
      [
        ['EUR', '200.00', '2026-02-01', { slip: 'S-1' }],
        ['EUR', '300.00', '2026-02-01', { slip: 'S-1' }],
        ['EUR', '100.00', '2026-02-01', { slip: 'S-1' }],
        ['EUR', '100.00', '2026-02-01', { slip: 'S-2' }],
        ['EUR', '200.00', '2026-02-01', { slip: 'S-2' }],
      ],
    );
    expect(matchList(r)).toEqual(['slip: A:1 = B:1+B:2+B:3']);
    expect(exceptionList(r)).toEqual(['amount_mismatch: A:2 / B:4+B:5']);
    expect(r.exceptions[0].evidence).toMatchObject({ reference: 'S-2', difference: '0.00', items_b: 2 });
  });

  it('decides nothing when two bank lines carry the same slip number, a slip has more receipts than max_items, or the keys differ', () => {
    const r = run(
      [{ id: 'slip', type: 'sum_by_reference', match_on: ['slip'], max_items: 2 }],
      [
        ['EUR', '300.00', '2026-02-03', { slip: 'S-1' }],
        ['EUR', '300.00', '2026-02-04', { slip: 'S-1' }],
        ['EUR', '6.00', '2026-02-04', { slip: 'S-2' }],
        ['K2', '5.00', '2026-02-04', { slip: 'S-3' }],
      ],
      [
        ['K3', '5.00', '2026-02-01', { slip: 'S-3' }],
        ['EUR', '100.00', '2026-02-01', { slip: 'S-1' }],
        ['EUR', '200.00', '2026-02-01', { slip: 'S-1' }],
        ['EUR', '1.00', '2026-02-01', { slip: 'S-2' }],
        ['EUR', '2.00', '2026-02-01', { slip: 'S-2' }],
        ['EUR', '3.00', '2026-02-01', { slip: 'S-2' }],
      ],
    );
    expect(r.matches).toEqual([]);
    // S-1 is held twice on the bank side: no pairing by it; S-2's three receipts are one item by the reference.
    // Nor across keys: S-3 is keyed K2 on one side and K3 on the other.
    expect(exceptionList(r)).toContain('amount_mismatch: A:3 / B:4+B:5+B:6');
    expect(r.exceptions.filter((e) => e.category === 'amount_mismatch')).toHaveLength(1);
  });

  it('sums side a against one record of side b when one_side is b, and takes only what where_a lets it', () => {
    const r = run(
      [
        {
          id: 'slip',
          type: 'sum_by_reference',
          one_side: 'b',
          match_on: ['slip'],
          where_a: { code: { in: ['CDPT'] } },
        },
      ],
      [
        ['EUR', '40.00', '2026-02-01', { slip: 'S-9', code: 'CDPT' }],
        ['EUR', '60.00', '2026-02-01', { slip: 'S-9', code: 'CDPT' }],
        ['EUR', '100.00', '2026-02-01', { slip: 'S-8', code: 'CDPT' }],
        ['EUR', '100.00', '2026-02-01', { slip: 'S-7', code: 'CHRG' }],
      ],
      [
        ['EUR', '100.00', '2026-02-02', { slip: 'S-9' }],
        ['EUR', '100.00', '2026-02-02', { slip: 'S-7' }],
      ],
    );
    expect(matchList(r)).toEqual(['slip: A:1+A:2 = B:1']);
  });

  it('refuses an item count that is not a whole number of items, naming the record, its line and the field', () => {
    const def = definition(bySlip);
    const [rec] = records(def, 'a', [['EUR', '1.00', '2026-02-01', { n: '2.5' }]]);
    expect(() => itemCount(rec, 'n', 'slip')).toThrow(ItemCountError);
    expect(() => itemCount(rec, 'n', 'slip')).toThrow('rule slip: record A:1 (line 1) field n holds "2.5", not a number of items');
    const [zero] = records(def, 'a', [['EUR', '1.00', '2026-02-01', { n: '0' }]]);
    expect(() => itemCount(zero, 'n', 'slip')).toThrow(ItemCountError);
    const [empty] = records(def, 'a', [['EUR', '1.00', '2026-02-01', { n: ' ' }]]);
    expect(itemCount(empty, 'n', 'slip')).toBeUndefined();
    expect(() =>
      run(bySlip, [['EUR', '3.00', '2026-02-01', { slip: 'S', n: 'x' }]], [['EUR', '3.00', '2026-02-01', { slip: 'S' }]]),
    ).toThrow('field n holds "x"');
  });

  it('is refused at definition time without match_on', () => {
    expect(() => definition([{ id: 'slip', type: 'sum_by_reference' } as never])).toThrow(/match_on/);
  });
});

// The sum_window rule with the statement's item count: a deposit whose total two subsets reach is decided by its size.
const window = (extra: Record<string, unknown> = {}) => [
  { id: 'dep', type: 'sum_window' as const, one_side: 'a' as const, days_before: 1, count_field: 'n', ...extra },
];
const receipts: [string, string, string][] = [
  ['EUR', '100.00', '2026-02-01'],
  ['EUR', '200.00', '2026-02-01'],
  ['EUR', '300.00', '2026-02-02'],
  ['EUR', '250.00', '2026-02-02'],
  ['EUR', '350.00', '2026-02-02'],
];

describe('sum_window with an item count (count_field)', () => {
  it('proposes both subsets when the statement gives no count', () => {
    const r = run(window(), [['EUR', '600.00', '2026-02-02']], receipts);
    expect(r.matches).toEqual([]);
    expect(r.exceptions[0].evidence).toMatchObject({ candidates: 'A:1=B:5+B:4 | A:1=B:3+B:2+B:1' });
  });

  it('matches the one subset of the size the statement counts', () => {
    expect(matchList(run(window(), [['EUR', '600.00', '2026-02-02', { n: '3' }]], receipts))).toEqual([
      'dep: A:1 = B:3+B:2+B:1',
    ]);
    expect(matchList(run(window(), [['EUR', '600.00', '2026-02-02', { n: '2' }]], receipts))).toEqual([
      'dep: A:1 = B:5+B:4',
    ]);
  });

  it('never searches a record whose count is outside the rule sizes', () => {
    const r = run(window({ max_items: 4 }), [['EUR', '600.00', '2026-02-02', { n: '5' }]], receipts);
    expect(r.matches).toEqual([]);
    expect(r.exceptions.some((e) => e.category === 'suggested_match')).toBe(false);
    expect(r.gave_up).toEqual([]);
  });

  it('takes back a one-to-one pair only for a rival subset of the counted size', () => {
    const rules = [{ id: 'same', type: 'exact' as const, compare_date: true }, ...window()];
    const bank = (n: string): [string, string, string, Record<string, string>] => [
      'EUR',
      '600.00',
      '2026-02-02',
      { n },
    ];
    const gl: [string, string, string][] = [
      ['EUR', '600.00', '2026-02-02'],
      ['EUR', '170.00', '2026-02-01'],
      ['EUR', '430.00', '2026-02-02'],
    ];
    // Two receipts reach 600: with a count of 2 that rival is real, with a count of 1 (outside 2..8) it is not.
    expect(run(rules, [bank('2')], gl).exceptions[0]?.category).toBe('suggested_match');
    expect(matchList(run(rules, [bank('1')], gl))).toEqual(['same: A:1 = B:1']);
  });
});

describe('sum_window proposals list every candidate, three at most', () => {
  it('proposes a deposit with its three subsets listed', () => {
    const r = run(
      window(),
      [['EUR', '600.00', '2026-02-02']],
      [...receipts, ['EUR', '400.00', '2026-02-02'] as [string, string, string]],
    );
    expect(r.exceptions[0].evidence).toMatchObject({
      candidates: 'A:1=B:6+B:2 | A:1=B:5+B:4 | A:1=B:3+B:2+B:1',
      candidate_count: 3,
    });
  });

  it('gives a deposit with more subsets than can be listed up as too_many_subsets, proposing none', () => {
    const r = run(
      window(),
      [['EUR', '600.00', '2026-02-02']],
      [
        ...receipts,
        ['EUR', '400.00', '2026-02-02'] as [string, string, string],
        ['EUR', '500.00', '2026-02-02'] as [string, string, string],
      ],
    );
    expect(r.matches).toEqual([]);
    expect(r.exceptions.some((e) => e.category === 'suggested_match')).toBe(false);
    expect(r.gave_up.map((g) => [g.a, g.reason])).toEqual([[['A:1'], 'too_many_subsets']]);
  });

  it('stops a subset search at the limit it is given', () => {
    const values = [50, 40, 30, 20, 10];
    // 60 = 50+10 = 40+20 = 30+20+10.
    expect(findSubsets(values, 60, 2, 3, { budget: 1000, tried: 0 }, MAX_LISTED_SUBSETS + 1)).toHaveLength(3);
    expect(findSubsets(values, 60, 2, 3, { budget: 1000, tried: 0 })).toHaveLength(2);
    // Exactly three items: only 30+20+10; the size prunes the rest (fewer combinations tried than sizes 2..3).
    const sized = { budget: 1000, tried: 0 };
    const any = { budget: 1000, tried: 0 };
    expect(findSubsets(values, 60, 3, 3, sized, 4)).toEqual([[2, 3, 4]]);
    findSubsets(values, 60, 2, 3, any, 4);
    expect(sized.tried).toBeLessThan(any.tried);
    // Fewer candidates left than items needed: nothing.
    expect(findSubsets([30, 20], 50, 3, 3, { budget: 1000, tried: 0 })).toEqual([]);
  });
});
