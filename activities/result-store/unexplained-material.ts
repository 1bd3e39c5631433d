// The certification read (issue 15): a reconciliation run's open exceptions, counted against a materiality by the
// one rule the evidence package applies too (domain/exceptions). Only ids, states, currencies and amounts are read,
// which the store keeps in the clear (keys and explanations stay sealed and unread).
import type { Pool } from 'pg';
import { unexplainedMaterial } from '../../domain/exceptions/lifecycle';
import type { MaterialityResult } from '../../domain/exceptions/materiality';
import { EXCEPTIONS_TABLE } from './schema';

/** The run's unexplained (open) exceptions above `materiality`; ids are `<reconId>:<itemId>`. */
export async function unexplainedMaterialOfRun(
  pool: Pool,
  run: { reconId: string; runId: string },
  materiality: string,
): Promise<MaterialityResult> {
  const { rows } = await pool.query<{ item_id: string; currency: string | null; amount: string | null }>(
    `SELECT item_id, currency, coalesce(difference, amount)::text AS amount
       FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1 AND status = 'open' ORDER BY item_id`,
    [run.runId],
  );
  return unexplainedMaterial(
    rows.map((r) => ({
      itemId: `${run.reconId}:${r.item_id}`,
      amount: r.amount ?? '0',
      currency: r.currency,
      state: 'open' as const,
    })),
    materiality,
    `checkpoint materiality for ${run.reconId}`,
  );
}
