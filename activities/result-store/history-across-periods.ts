// An exception's action history across periods (issue 15, roll-forward): a brought-forward item names the run and
// item it came from, so its history is followed back to the period it was first seen in.
import type { Pool } from 'pg';
import { EXCEPTION_ACTIONS_TABLE, EXCEPTIONS_TABLE } from './schema';

export interface PeriodAction {
  runId: string;
  itemId: string;
  action: string;
  by: string;
  at: string;
  accepted: boolean;
}

/**
 * This run's actions on the item, after those on the item it was brought forward from, and so on back to the
 * period it was first seen in (oldest first).
 */
export async function historyAcrossPeriods(pool: Pool, runId: string, itemId: string): Promise<PeriodAction[]> {
  const chain: { runId: string; itemId: string }[] = [];
  let at: { runId: string; itemId: string } | undefined = { runId, itemId };
  while (at && chain.length < 1000) {
    chain.push(at);
    const link: { rows: { bf_run_id: string | null; bf_item_id: string | null }[] } = await pool.query(
      `SELECT bf_run_id, bf_item_id FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1 AND item_id = $2`,
      [at.runId, at.itemId],
    );
    const r = link.rows[0];
    at = r?.bf_run_id && r.bf_item_id ? { runId: r.bf_run_id, itemId: r.bf_item_id } : undefined;
  }
  const out: PeriodAction[] = [];
  for (const link of chain.reverse()) {
    const { rows } = await pool.query<{ action: string; by: string; at: Date; accepted: boolean }>(
      `SELECT action, by, at, accepted FROM ${EXCEPTION_ACTIONS_TABLE}
          WHERE run_id = $1 AND item_ids ? $2 ORDER BY seq`,
      [link.runId, link.itemId],
    );
    for (const r of rows)
      out.push({ ...link, action: r.action, by: r.by, at: new Date(r.at).toISOString(), accepted: r.accepted });
  }
  return out;
}
