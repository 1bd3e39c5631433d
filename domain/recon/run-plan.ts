// How a reconciliation run is laid out: the as-of date of its period and its partition count from its size. Pure, so
// the workflow and its tests share it without the workflow sandbox.

/** Spill buckets when the partition count is chosen from the size: powers of two up to it divide it. */
export const SPILL_BUCKETS = 256;
/** Records of the larger side per partition when the count is chosen from the size. */
export const RECORDS_PER_PARTITION = 100_000;

/** The first and last day of a `yyyy-mm` period; undefined for other spellings (a fiscal "FY2026-P10"). */
export function monthBounds(period: string | undefined): { start: string; end: string } | undefined {
  const m = /^(\d{4})-(\d{2})$/.exec(period ?? '');
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  if (mo < 1 || mo > 12) return undefined;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  return { start: `${m[1]}-${m[2]}-01`, end: `${m[1]}-${m[2]}-${String(days).padStart(2, '0')}` };
}

/** The last day of a `yyyy-mm` period. */
export function periodEnd(period: string): string | undefined {
  return monthBounds(period)?.end;
}

/**
 * Records of the larger side per partition when both sides were extracted by the DuckDB data plane: one DuckDB pass
 * does a partition's set work, and each partition reloads its share of the sides' files (about 1.8 s each at 16
 * partitions of 1M measured), so such a run is split only for memory, not for the TypeScript engine's heap.
 */
export const DUCKDB_RECORDS_PER_PARTITION = 2_000_000;

/** Smallest power of two holding `records` at `perPartition` each (RECORDS_PER_PARTITION), from 1 to SPILL_BUCKETS. */
export function partitionsFor(records: number, perPartition = RECORDS_PER_PARTITION): number {
  let p = 1;
  while (p < SPILL_BUCKETS && p * perPartition < records) p *= 2;
  return p;
}
