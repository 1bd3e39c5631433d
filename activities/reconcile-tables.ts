import { ApplicationFailure } from '@temporalio/common';
import type { ReconciliationSummary, TableRef } from '../contracts';
import type { SystemRegistry } from './systems';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

function ident(what: string, value: string): string {
  if (!IDENT.test(value))
    throw ApplicationFailure.nonRetryable(
      `${what} ${JSON.stringify(value)} is not a plain SQL identifier`,
      'InvalidSource',
    );
  return value
    .split('.')
    .map((p) => `"${p}"`)
    .join('.');
}

function aggregate(ref: TableRef, side: string): string {
  return `SELECT ${ident(`${side}.keyField`, ref.keyField)}::text AS k, sum(${ident(`${side}.valueField`, ref.valueField)})::numeric AS v,
          count(*) AS n FROM ${ident(`${side}.table`, ref.table)} GROUP BY 1`;
}

/**
 * Compares two tables key by key with one set-based query in the database: totals per key on each side, then a
 * full outer join. Both tables must sit on one server (a first slice; the streaming engine of the reconciliation
 * issue compares across servers).
 */
export async function reconcileTablesWith(
  systems: SystemRegistry,
  input: { reconId: string; a: TableRef; b: TableRef },
): Promise<ReconciliationSummary> {
  if (input.a.system !== input.b.system)
    throw ApplicationFailure.nonRetryable('both tables must be on one system in this comparison', 'InvalidSource');
  const pool = systems.postgres(input.a.system);
  const sql = `
    WITH a AS (${aggregate(input.a, 'a')}), b AS (${aggregate(input.b, 'b')})
    SELECT
      (SELECT coalesce(sum(n), 0) FROM a)::bigint::text AS a_records,
      (SELECT coalesce(sum(v), 0) FROM a)::text AS a_amount,
      (SELECT coalesce(sum(n), 0) FROM b)::bigint::text AS b_records,
      (SELECT coalesce(sum(v), 0) FROM b)::text AS b_amount,
      count(*) FILTER (WHERE a.k IS NOT NULL AND b.k IS NOT NULL AND a.v = b.v)::text AS matched,
      count(*) FILTER (WHERE a.k IS NOT NULL AND b.k IS NOT NULL AND a.v <> b.v)::text AS mismatch,
      count(*) FILTER (WHERE a.k IS NULL)::text AS missing_in_a,
      count(*) FILTER (WHERE b.k IS NULL)::text AS missing_in_b
    FROM a FULL OUTER JOIN b ON a.k = b.k`;
  let row: Record<string, string>;
  try {
    row = (await pool.query<Record<string, string>>(sql)).rows[0];
  } catch (err) {
    const e = err as { code?: string; message: string };
    // 42P01 undefined table, 42703 undefined column, 42883/42804 a value column that is not numeric: the
    // definition is wrong and retrying cannot help.
    if (e.code && ['42P01', '42703', '42883', '42804'].includes(e.code))
      throw ApplicationFailure.nonRetryable(`reconciliation ${input.reconId}: ${e.message}`, 'InvalidSource');
    throw err;
  }
  const num = (s: string) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n)) throw new Error(`count ${s} exceeds safe integers`);
    return n;
  };
  const keys = {
    matched: num(row.matched),
    amountMismatch: num(row.mismatch),
    missingInA: num(row.missing_in_a),
    missingInB: num(row.missing_in_b),
  };
  const { rows } = await pool.query<{ d: string }>('SELECT ($1::numeric - $2::numeric)::text AS d', [
    row.a_amount,
    row.b_amount,
  ]);
  return {
    reconId: input.reconId,
    status: keys.amountMismatch + keys.missingInA + keys.missingInB === 0 ? 'balanced' : 'exceptions',
    a: { records: num(row.a_records), amount: row.a_amount },
    b: { records: num(row.b_records), amount: row.b_amount },
    keys,
    difference: rows[0].d,
  };
}
