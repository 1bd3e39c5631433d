// The reconciliation workflow's pure helpers: the as-of date of a period and the partition count from the size.
import {
  DUCKDB_RECORDS_PER_PARTITION,
  RECORDS_PER_PARTITION,
  SPILL_BUCKETS,
  monthBounds,
  partitionsFor,
  periodEnd,
} from '../../domain/recon/run-plan';

describe('periodEnd', () => {
  it('gives the last day of a yyyy-mm period, leap years included', () => {
    expect(periodEnd('2026-10')).toBe('2026-10-31');
    expect(periodEnd('2026-11')).toBe('2026-11-30');
    expect(periodEnd('2028-02')).toBe('2028-02-29');
    expect(periodEnd('2100-02')).toBe('2100-02-28');
    expect(periodEnd('2000-02')).toBe('2000-02-29');
  });

  it('has no answer for other period spellings', () => {
    expect(periodEnd('2026-13')).toBeUndefined();
    expect(periodEnd('2026-Q4')).toBeUndefined();
    expect(periodEnd('FY2026-P10')).toBeUndefined();
  });
});

describe('monthBounds', () => {
  it('gives the first and last day of a yyyy-mm period', () => {
    expect(monthBounds('2026-02')).toEqual({ start: '2026-02-01', end: '2026-02-28' });
    expect(monthBounds('2028-02')).toEqual({ start: '2028-02-01', end: '2028-02-29' });
  });

  it('has no answer for a fiscal period key, a month out of range or no period', () => {
    expect(monthBounds('FY2026-P10')).toBeUndefined();
    expect(monthBounds('2026-00')).toBeUndefined();
    expect(monthBounds(undefined)).toBeUndefined();
  });
});

describe('partitionsFor', () => {
  it('keeps about 100k records of the larger side per partition, in powers of two up to 256', () => {
    expect(partitionsFor(0)).toBe(1);
    expect(partitionsFor(100_000)).toBe(1);
    expect(partitionsFor(100_001)).toBe(2);
    expect(partitionsFor(1_000_000)).toBe(16);
    expect(partitionsFor(5_000_000)).toBe(64);
    expect(partitionsFor(1_000_000_000)).toBe(256);
  });

  it('never plans more partitions than there are spill buckets, and divides them evenly', () => {
    expect(partitionsFor(SPILL_BUCKETS * RECORDS_PER_PARTITION * 4)).toBe(SPILL_BUCKETS);
    for (const n of [1, 10, 1e5 + 1, 3e6, 7e7]) expect(SPILL_BUCKETS % partitionsFor(n)).toBe(0);
  });

  it('splits a run whose sides DuckDB extracted only every 2M records of the larger side: 1M in one pass', () => {
    const duck = (n: number) => partitionsFor(n, DUCKDB_RECORDS_PER_PARTITION);
    expect([duck(1_000_000), duck(2_000_000), duck(2_000_001), duck(5_000_000), duck(10_000_000)]).toEqual([
      1, 1, 2, 4, 8,
    ]);
    expect(duck(1e12)).toBe(SPILL_BUCKETS);
  });
});
