// Ageing from grouped counts (issue 15): buckets 0-30, 31-60, 61-90, over 90 days since first seen, per category
// and currency, equal to the per-item ageing of the same exceptions.
import { ageingReport } from '../../domain/exceptions/ageing';
import { ageingOfGroups, mergeAgeing, type AgeingGroup } from '../../domain/exceptions/ageing-groups';

const g = (
  category: string,
  currency: string | null,
  firstSeen: string,
  count: number,
  total: string,
): AgeingGroup => ({
  category,
  currency,
  firstSeen,
  count,
  total,
});

describe('ageing from grouped counts', () => {
  it('puts each first-seen date in its bucket on the as-of date, per category and currency, sorted', () => {
    const rows = ageingOfGroups(
      [
        g('missing_in_b', 'USD', '2026-02-28', 1, '40.00'),
        g('missing_in_b', 'USD', '2025-12-31', 2, '-62.66'),
        g('missing_in_b', 'USD', '2025-11-30', 1, '5'),
        g('missing_in_b', 'USD', '2025-10-31', 3, '1.5'),
        g('amount_mismatch', 'EUR', '2026-01-28', 1, '-3.10'),
        g('amount_mismatch', null, '2026-02-01', 1, '7'),
      ],
      '2026-02-28',
    );
    expect(rows).toEqual([
      {
        category: 'amount_mismatch',
        currency: null,
        buckets: {
          '0-30': { count: 1, total: '7' },
          '31-60': { count: 0, total: '0' },
          '61-90': { count: 0, total: '0' },
          over_90: { count: 0, total: '0' },
        },
        count: 1,
        total: '7',
      },
      {
        category: 'amount_mismatch',
        currency: 'EUR',
        buckets: {
          '0-30': { count: 0, total: '0.00' },
          '31-60': { count: 1, total: '-3.10' },
          '61-90': { count: 0, total: '0.00' },
          over_90: { count: 0, total: '0.00' },
        },
        count: 1,
        total: '-3.10',
      },
      {
        category: 'missing_in_b',
        currency: 'USD',
        buckets: {
          '0-30': { count: 1, total: '40.00' },
          '31-60': { count: 2, total: '-62.66' },
          '61-90': { count: 1, total: '5.00' },
          over_90: { count: 3, total: '1.50' },
        },
        count: 7,
        total: '-16.16',
      },
    ]);
  });

  it('gives what the per-item ageing gives for the same exceptions', () => {
    const items = [
      {
        itemId: 'a',
        category: 'timing',
        currency: 'USD',
        amount: '10.00',
        state: 'open' as const,
        key: 'k',
        firstSeen: '2026-01-01',
      },
      {
        itemId: 'b',
        category: 'timing',
        currency: 'USD',
        amount: '-2.50',
        state: 'explained' as const,
        key: 'k',
        firstSeen: '2026-01-01',
      },
      {
        itemId: 'c',
        category: 'timing',
        currency: 'USD',
        amount: '1.25',
        state: 'open' as const,
        key: 'k',
        firstSeen: '2025-09-01',
      },
    ];
    expect(
      ageingOfGroups(
        [g('timing', 'USD', '2026-01-01', 2, '7.50'), g('timing', 'USD', '2025-09-01', 1, '1.25')],
        '2026-03-15',
      ),
    ).toEqual(ageingReport(items, '2026-03-15'));
  });

  it('refuses a count that is not a whole number and a total that is not a decimal, naming the group', () => {
    expect(() => ageingOfGroups([g('x', 'USD', '2026-01-01', 1.5, '1')], '2026-01-02')).toThrow(
      'ageing group x/USD/2026-01-01: count 1.5 is not a count',
    );
    expect(() => ageingOfGroups([g('x', null, '2026-01-01', -1, '1')], '2026-01-02')).toThrow('x/-/2026-01-01');
    expect(() => ageingOfGroups([g('x', 'USD', '2026-01-01', 1, 'one')], '2026-01-02')).toThrow(
      /ageing group x\/USD\/2026-01-01 total/,
    );
  });
});

describe('merging several reconciliations’ ageing', () => {
  it('adds counts and totals per category, currency and bucket, at the widest scale', () => {
    const bank = ageingOfGroups(
      [g('missing_in_b', 'USD', '2026-02-28', 1, '40.00'), g('missing_in_b', 'USD', '2025-12-31', 2, '-62.66')],
      '2026-02-28',
    );
    const ap = ageingOfGroups(
      [g('missing_in_b', 'USD', '2025-11-15', 1, '7.5'), g('amount_mismatch', 'EUR', '2026-02-20', 1, '1')],
      '2026-02-28',
    );
    expect(mergeAgeing([bank, ap])).toEqual(
      ageingOfGroups(
        [
          g('missing_in_b', 'USD', '2026-02-28', 1, '40.00'),
          g('missing_in_b', 'USD', '2025-12-31', 2, '-62.66'),
          g('missing_in_b', 'USD', '2025-11-15', 1, '7.5'),
          g('amount_mismatch', 'EUR', '2026-02-20', 1, '1'),
        ],
        '2026-02-28',
      ),
    );
    expect(mergeAgeing([])).toEqual([]);
  });

  it('refuses a line without one of its buckets, or with a count that is not one, naming it', () => {
    const [line] = ageingOfGroups([g('x', 'USD', '2026-01-01', 1, '1.00')], '2026-01-02');
    const { over_90: _gone, ...three } = line.buckets;
    expect(() => mergeAgeing([[{ ...line, buckets: three as typeof line.buckets }]])).toThrow(
      'ageing line x/USD over_90: the bucket is missing',
    );
    expect(() =>
      mergeAgeing([[{ ...line, currency: null, buckets: { ...line.buckets, '0-30': { count: -2, total: '1' } } }]]),
    ).toThrow('ageing line x/- 0-30: count -2 is not a count');
  });
});
