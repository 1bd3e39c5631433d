// The exception-action history table's one writer: every exception action (explain, resolve, reopen, carry-forward,
// exception-actions.ts) and every suggestion decision (confirm, reject, suggestions.ts) leaves one row here, accepted
// or refused, with who, when, the items, their count and totals, the filter that chose them and the signed proof.
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { ExceptionFilter } from '../../domain/exceptions/filter';
import type { RunCodec } from './run-codec';
import { EXCEPTION_ACTIONS_TABLE } from './schema';

export type ActionOutcome = { accepted: true } | { accepted: false; refusal: string; type: string };

export interface ActionRow {
  runId: string;
  reconId: string;
  /** The action as sent (its `action` names it: explain, confirm...); sealed as the row's detail. */
  action: { action: string };
  actor: { id: string };
  at: string;
  filter?: ExceptionFilter;
  proof?: { nonce: string; kid: string; issuer: string };
}

/**
 * Appends one history row and returns its sequence number. An accepted action is stored under its nonce (so a
 * replay of the same token collides with it); a refusal keeps the nonce it came with, but under an id of its own: a
 * refused token may not block the same nonce's later acceptance, and a replay's refusal must not collide with the
 * accepted original.
 */
export async function recordActionRow(
  db: Pool | PoolClient,
  codec: RunCodec,
  req: ActionRow,
  outcome: ActionOutcome,
  items: { itemIds: string[]; count: number; totals: { currency: string | null; total: string }[] },
): Promise<number> {
  const id = outcome.accepted ? (req.proof?.nonce ?? `unsigned-${randomUUID()}`) : `refused-${randomUUID()}`;
  const detail = codec.enc(EXCEPTION_ACTIONS_TABLE, 'detail', id, JSON.stringify(req.action), 'explanation');
  const { rows } = await db.query<{ seq: string }>(
    `INSERT INTO ${EXCEPTION_ACTIONS_TABLE} (action_id, run_id, recon_id, action, by, at, accepted, refusal,
       refusal_type, item_ids, count, totals, filter, detail, nonce, key_id, issuer)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12::jsonb, $13::jsonb, $14, $15, $16, $17)
     RETURNING seq`,
    [
      id,
      req.runId,
      req.reconId,
      req.action.action,
      req.actor.id,
      req.at,
      outcome.accepted,
      outcome.accepted ? null : outcome.refusal,
      outcome.accepted ? null : outcome.type,
      JSON.stringify(items.itemIds),
      items.count,
      JSON.stringify(items.totals),
      req.filter ? JSON.stringify(req.filter) : null,
      detail,
      req.proof?.nonce ?? null,
      req.proof?.kid ?? null,
      req.proof?.issuer ?? null,
    ],
  );
  return Number(rows[0].seq);
}
