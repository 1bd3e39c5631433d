// People's actions on a run's exceptions (issue 15), applied with their history: every action is one row of
// recon_exception_actions (who, when, what, the items it named, their count and per-currency totals), accepted or
// refused; a bulk action is one row naming each item. The rules (transitions, reason codes, who may act, filters)
// are domain/exceptions'; this module applies them under row locks, all items or none. People's words (the
// explanation, the resolution's text, the action's detail) are sealed per value under the run's data key, like
// explanations always were.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import {
  type ExceptionFilter,
  type FilterableException,
  matchesFilter,
  parseExceptionFilter,
  totalsByCurrency,
} from '../../domain/exceptions/filter';
import {
  type Actor,
  authoriseExceptionAction,
  changeOf,
  type ExceptionAction,
  ExceptionActionError,
  type ExceptionState,
  type ResolutionKind,
} from '../../domain/exceptions/lifecycle';
import { recordActionRow } from './action-history';
import { type RunCodec, type RunSealer, runCodec, type SensitiveColumn } from './run-codec';
import { EXCEPTION_ACTIONS_TABLE, EXCEPTIONS_TABLE } from './schema';
import type { ExceptionRow, ResultStore } from './store';

export interface ExceptionActionStoreDeps {
  pool: Pool;
  /** The run's exceptions with their keys and explanations opened (the result store of the same database). */
  results: ResultStore;
  sealerFor?: RunSealer;
  sensitiveColumns?: SensitiveColumn[];
}

/** An exception with its lifecycle: what `finflow exceptions list|show` prints. */
export interface LifecycleRow extends FilterableException {
  runId: string;
  side: ExceptionRow['side'];
  /** As the engine reported them: the item's own amount, the difference, each side's sum. */
  itemAmount: string | null;
  difference: string | null;
  amountA: string | null;
  amountB: string | null;
  reasonCode: string | null;
  explanation: string | null;
  explainedBy: string | null;
  explainedAt: string | null;
  resolutionKind: ResolutionKind | null;
  resolutionReference: string | null;
  resolutionAmount: string | null;
  resolution: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
}

/** One row of the action history. */
export interface ActionRecord {
  seq: number;
  actionId: string;
  runId: string;
  reconId: string;
  action: string;
  by: string;
  at: string;
  accepted: boolean;
  refusal: string | null;
  refusalType: string | null;
  itemIds: string[];
  count: number;
  totals: { currency: string | null; total: string }[];
  filter: ExceptionFilter | null;
  /** The action as sent (reason code and text, resolution kind...), opened. */
  detail: unknown;
  nonce: string | null;
  keyId: string | null;
  issuer: string | null;
}

export interface ActionRequest {
  runId: string;
  reconId: string;
  actor: Actor;
  /** The reconciliation's owner role(s): who may work its exceptions. */
  ownerRoles: readonly string[];
  action: ExceptionAction;
  /** The items acted on, as selected (and signed) by the person. */
  itemIds: string[];
  /** When the items were chosen by a filter, the filter (recorded). */
  filter?: ExceptionFilter;
  /** The count and totals the person saw and signed: refused if the items no longer add up to them. */
  expected?: { count: number; totals: { currency: string | null; total: string }[] };
  at: string;
  /** The run the signed action names: an action naming another run's exceptions is refused. */
  claimedRunId?: string;
  proof?: { nonce: string; kid: string; issuer: string };
}

function refuse(message: string, type = 'InvalidExceptionAction'): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

const sameTotals = (a: ActionRecord['totals'], b: ActionRecord['totals']) =>
  JSON.stringify(a.map((t) => [t.currency, t.total])) === JSON.stringify(b.map((t) => [t.currency, t.total]));

export function createExceptionActionStore(deps: ExceptionActionStoreDeps) {
  const { pool } = deps;
  const sensitive = new Set<SensitiveColumn>(deps.sensitiveColumns ?? ['key', 'evidence', 'explanation']);
  const codecOf = (runId: string): Promise<RunCodec> =>
    runCodec(runId, { sealerFor: deps.sealerFor, sensitive, refuse });

  async function lifecycleColumns(runId: string, codec: RunCodec) {
    const { rows } = await pool.query<{
      item_id: string;
      reason_code: string | null;
      resolution_kind: string | null;
      resolution_reference: string | null;
      resolution_amount: string | null;
      resolution_note: string | null;
      first_seen: string | null;
      created_at: string;
    }>(
      `SELECT item_id, reason_code, resolution_kind, resolution_reference, resolution_amount::text,
              resolution_note, first_seen::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS created_at
         FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1`,
      [runId],
    );
    return new Map(
      rows.map((r) => [
        r.item_id,
        {
          ...r,
          resolution_note:
            r.resolution_note === null
              ? null
              : codec.dec(EXCEPTIONS_TABLE, 'resolution_note', r.item_id, r.resolution_note, 'explanation'),
        },
      ]),
    );
  }

  /** Every exception of the run with its lifecycle, in report order (category, key, item). */
  async function rows(runId: string): Promise<LifecycleRow[]> {
    const codec = await codecOf(runId);
    try {
      const extra = await lifecycleColumns(runId, codec);
      const out: LifecycleRow[] = [];
      for await (const batch of deps.results.streamExceptions(runId))
        for (const x of batch) {
          const e = extra.get(x.itemId);
          out.push({
            runId,
            itemId: x.itemId,
            side: x.side,
            key: x.key,
            category: x.category,
            currency: x.currency,
            amount: x.difference ?? x.amount ?? '0',
            itemAmount: x.amount,
            difference: x.difference,
            amountA: x.amountA,
            amountB: x.amountB,
            state: x.status as ExceptionState,
            firstSeen: e?.first_seen ?? e?.created_at ?? '1970-01-01',
            reasonCode: e?.reason_code ?? null,
            explanation: x.explanation,
            explainedBy: x.explainedBy,
            explainedAt: x.explainedAt,
            resolutionKind: (e?.resolution_kind as ResolutionKind | null) ?? null,
            resolutionReference: e?.resolution_reference ?? null,
            resolutionAmount: e?.resolution_amount ?? null,
            resolution: e?.resolution_note ?? null,
            resolvedBy: x.resolvedBy,
            resolvedAt: x.resolvedAt,
          });
        }
      return out;
    } finally {
      codec.dispose();
    }
  }

  /** The changes of one action, as one UPDATE over every item (sealed texts are bound to each item). */
  async function update(db: PoolClient, codec: RunCodec, req: ActionRequest, itemIds: string[]): Promise<void> {
    const a = req.action;
    const seal = (column: string, text: string) =>
      itemIds.map((id) => codec.enc(EXCEPTIONS_TABLE, column, id, text, 'explanation'));
    const where = `FROM unnest($2::text[], $3::text[]) AS v(item_id, note)
                   WHERE t.run_id = $1 AND t.item_id = v.item_id`;
    if (a.action === 'explain')
      await db.query(
        `UPDATE ${EXCEPTIONS_TABLE} t SET status = 'explained', explanation = v.note, reason_code = $4,
                explained_by = $5, explained_at = $6::timestamptz ${where}`,
        [req.runId, itemIds, seal('explanation', a.text), a.reasonCode, req.actor.id, req.at],
      );
    else if (a.action === 'resolve')
      await db.query(
        `UPDATE ${EXCEPTIONS_TABLE} t SET status = 'resolved', resolution_note = v.note, resolution_kind = $4,
                resolution_reference = $5, resolution_amount = $6::numeric, resolved_by = $7,
                resolved_at = $8::timestamptz ${where}`,
        [
          req.runId,
          itemIds,
          seal('resolution_note', a.text),
          a.kind,
          a.reference ?? null,
          a.amount ?? null,
          req.actor.id,
          req.at,
        ],
      );
    else
      await db.query(
        `UPDATE ${EXCEPTIONS_TABLE} t SET status = $4,
                resolution_kind = NULL, resolution_reference = NULL, resolution_amount = NULL,
                resolution_note = NULL, resolved_by = NULL, resolved_at = NULL ${where}`,
        [req.runId, itemIds, itemIds.map(() => null), a.action === 'reopen' ? 'open' : 'carried_forward'],
      );
  }

  return {
    rows,

    /** A page of the run's exceptions passing `filter` on `asOf`, with the count and totals of all that pass. */
    async list(
      runId: string,
      opts: { filter?: ExceptionFilter; asOf: string; offset?: number; limit?: number },
    ): Promise<{ items: LifecycleRow[]; count: number; totals: ActionRecord['totals'] }> {
      const f = parseExceptionFilter(opts.filter ?? {});
      const all = (await rows(runId)).filter((x) => matchesFilter(x, f, opts.asOf));
      const offset = opts.offset ?? 0;
      return {
        items: all.slice(offset, opts.limit === undefined ? undefined : offset + opts.limit),
        count: all.length,
        totals: totalsByCurrency(all),
      };
    },

    /** The action history of a run (or of one of its items), oldest first, detail opened. */
    async history(runId: string, itemId?: string): Promise<ActionRecord[]> {
      const { rows: r } = await pool.query<Record<string, string | null> & { item_ids: string[] }>(
        `SELECT seq, action_id, run_id, recon_id, action, by, at, accepted::text, refusal, refusal_type,
                item_ids, count::text, totals::text, filter::text, detail, nonce, key_id, issuer
           FROM ${EXCEPTION_ACTIONS_TABLE}
          WHERE run_id = $1 AND ($2::text IS NULL OR item_ids ? $2)
          ORDER BY seq`,
        [runId, itemId ?? null],
      );
      const codec = await codecOf(runId);
      try {
        return r.map((x) => ({
          seq: Number(x.seq),
          actionId: x.action_id as string,
          runId: x.run_id as string,
          reconId: x.recon_id as string,
          action: x.action as string,
          by: x.by as string,
          at: new Date(x.at as string).toISOString(),
          accepted: x.accepted === 'true',
          refusal: x.refusal,
          refusalType: x.refusal_type,
          itemIds: x.item_ids,
          count: Number(x.count),
          totals: JSON.parse(x.totals as string) as ActionRecord['totals'],
          filter: x.filter === null ? null : (JSON.parse(x.filter) as ExceptionFilter),
          detail: JSON.parse(
            codec.dec(EXCEPTION_ACTIONS_TABLE, 'detail', x.action_id as string, x.detail as string, 'explanation'),
          ) as unknown,
          nonce: x.nonce,
          keyId: x.key_id,
          issuer: x.issuer,
        }));
      } finally {
        codec.dispose();
      }
    },

    /** The accepted action of a run with this nonce, if any. */
    async acceptedByNonce(
      runId: string,
      nonce: string,
    ): Promise<{ seq: number; by: string; action: string; count: number; totals: ActionRecord['totals'] } | undefined> {
      const { rows: r } = await pool.query<{ seq: string; by: string; action: string; count: number; totals: string }>(
        `SELECT seq, by, action, count, totals::text FROM ${EXCEPTION_ACTIONS_TABLE}
          WHERE run_id = $1 AND nonce = $2 AND accepted`,
        [runId, nonce],
      );
      const x = r[0];
      return x
        ? {
            seq: Number(x.seq),
            by: x.by,
            action: x.action,
            count: x.count,
            totals: JSON.parse(x.totals) as ActionRecord['totals'],
          }
        : undefined;
    },

    /**
     * Records an action refused before it could be attributed to anyone (a forged, expired or malformed token):
     * `by` is what the token claimed, marked unverified, and the detail says why.
     */
    async recordUnverified(r: {
      runId: string;
      reconId: string;
      claimedBy?: string;
      at: string;
      message: string;
      type: string;
    }): Promise<number> {
      const codec = await codecOf(r.runId);
      try {
        const id = `refused-${randomUUID()}`;
        const detail = codec.enc(
          EXCEPTION_ACTIONS_TABLE,
          'detail',
          id,
          JSON.stringify({ unverified: true, claimedBy: r.claimedBy ?? null }),
          'explanation',
        );
        const { rows: out } = await pool.query<{ seq: string }>(
          `INSERT INTO ${EXCEPTION_ACTIONS_TABLE} (action_id, run_id, recon_id, action, by, at, accepted, refusal,
             refusal_type, item_ids, count, totals, detail)
           VALUES ($1, $2, $3, 'unverified', $4, $5, false, $6, $7, '[]', 0, '[]', $8) RETURNING seq`,
          [id, r.runId, r.reconId, `unverified:${r.claimedBy ?? '(nobody)'}`, r.at, r.message, r.type, detail],
        );
        return Number(out[0].seq);
      } finally {
        codec.dispose();
      }
    },

    /**
     * Applies one person's action to every item it names, or to none: refused (and recorded as refused) when the
     * person does not hold the owner role, the action names another run, an item is missing or in a state the
     * action does not apply to, the items no longer add up to the count and totals signed, or the signed action
     * was already applied (a replay). Returns the history row.
     */
    async apply(req: ActionRequest): Promise<{ seq: number; count: number; totals: ActionRecord['totals'] }> {
      const codec = await codecOf(req.runId);
      const itemIds = [...new Set(req.itemIds)];
      let totals: ActionRecord['totals'] = req.expected?.totals ?? [];
      const refused = async (message: string, type: string): Promise<never> => {
        const seq = await recordActionRow(
          pool,
          codec,
          req,
          { accepted: false, refusal: message, type },
          {
            itemIds,
            count: itemIds.length,
            totals,
          },
        );
        throw refuse(`${message} (refusal recorded as action ${seq})`, type);
      };
      try {
        if (req.claimedRunId !== undefined && req.claimedRunId !== req.runId)
          return await refused(
            `the action names exceptions of run ${req.claimedRunId}, not of ${req.reconId}'s run ${req.runId}`,
            'ExceptionOfAnotherRun',
          );
        if (!itemIds.length) return await refused('the action names no exception', 'InvalidExceptionAction');
        try {
          authoriseExceptionAction(req.actor, req.ownerRoles, req.reconId);
        } catch (err) {
          if (err instanceof ExceptionActionError) return await refused(err.message, err.type);
          throw err;
        }
        if (req.proof) {
          const { rows: used } = await pool.query<{ seq: string; at: string }>(
            `SELECT seq::text, at FROM ${EXCEPTION_ACTIONS_TABLE} WHERE nonce = $1 AND accepted`,
            [req.proof.nonce],
          );
          if (used.length)
            return await refused(
              `the signed action ${req.proof.nonce} was already applied (action ${used[0].seq}): a token counts once`,
              'ExceptionActionReplayed',
            );
        }
        const db = await pool.connect();
        let problem: { message: string; type: string } | undefined;
        let seq = 0;
        try {
          await db.query('BEGIN');
          const { rows: locked } = await db.query<{
            item_id: string;
            status: ExceptionState;
            currency: string | null;
            amount: string;
          }>(
            `SELECT item_id, status, currency, coalesce(difference, amount, 0)::text AS amount
               FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1 AND item_id = ANY($2::text[]) ORDER BY item_id FOR UPDATE`,
            [req.runId, itemIds],
          );
          const found = new Set(locked.map((r) => r.item_id));
          const missing = itemIds.filter((i) => !found.has(i));
          totals = totalsByCurrency(locked.map((r) => ({ itemId: r.item_id, currency: r.currency, amount: r.amount })));
          if (missing.length)
            problem = {
              message: `no exception ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} in run ${req.runId}: nothing was changed`,
              type: 'ExceptionNotFound',
            };
          else if (req.expected && (req.expected.count !== locked.length || !sameTotals(req.expected.totals, totals)))
            problem = {
              message:
                `the ${req.expected.count} exception(s) signed for no longer add up: now ${locked.length}, totals ` +
                `${JSON.stringify(totals)} instead of ${JSON.stringify(req.expected.totals)}; nothing was changed`,
              type: 'ExceptionSelectionChanged',
            };
          else
            for (const r of locked)
              try {
                changeOf(r.item_id, r.status, req.action);
              } catch (err) {
                if (!(err instanceof ExceptionActionError)) throw err;
                problem = { message: `${err.message}; nothing was changed`, type: err.type };
                break;
              }
          if (problem) await db.query('ROLLBACK');
          else {
            await update(db, codec, req, itemIds);
            seq = await recordActionRow(db, codec, req, { accepted: true }, { itemIds, count: itemIds.length, totals });
            await db.query('COMMIT');
          }
        } catch (err) {
          await db.query('ROLLBACK').catch(() => undefined);
          // Two people sending the same token at once: the unique index says the second is a replay.
          if ((err as { code?: string }).code === '23505' && req.proof)
            problem = {
              message: `the signed action ${req.proof.nonce} was already applied: a token counts once`,
              type: 'ExceptionActionReplayed',
            };
          else throw err;
        } finally {
          db.release();
        }
        if (problem) return await refused(problem.message, problem.type);
        return { seq, count: itemIds.length, totals };
      } finally {
        codec.dispose();
      }
    },
  };
}

export type ExceptionActionStore = ReturnType<typeof createExceptionActionStore>;
