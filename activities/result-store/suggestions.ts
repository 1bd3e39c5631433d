// Suggested matches decided by people (issue 15): the pending suggestions of a run with their candidates, a person's
// confirm or reject applied with its history row, and the per-rule counts of matched (auto), matched (confirmed)
// and suggested (pending). The rules and the representation of a decision (the suggestion's state, the match, the
// records returned to the leftovers) are domain/exceptions/suggestions.ts'; this module applies them in one
// transaction, with the same history table, refusals and sealing as the other exception actions
// (exception-actions.ts).
import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient } from 'pg';
import {
  type ExceptionFilter,
  matchesFilter,
  parseExceptionFilter,
  totalsByCurrency,
} from '../../domain/exceptions/filter';
import { authoriseExceptionAction, ExceptionActionError, type ExceptionState } from '../../domain/exceptions/lifecycle';
import {
  decideSuggestion,
  readSuggestion,
  type StoredSuggestion,
  type SuggestionAction,
  type SuggestionDecision,
  type SuggestionView,
} from '../../domain/exceptions/suggestions';
import { recordActionRow } from './action-history';
import type { ActionRecord, ActionRequest, ExceptionActionStoreDeps } from './exception-actions';
import { type RunCodec, runCodec, type SensitiveColumn } from './run-codec';
import { EXCEPTION_ACTIONS_TABLE, EXCEPTIONS_TABLE, SUGGESTION_DECISIONS_TABLE } from './schema';
import type { ExceptionRow } from './store';

/** A pending suggestion as `finflow exceptions suggestions` lists it. */
export interface PendingSuggestion extends SuggestionView {
  runId: string;
  state: ExceptionState;
  difference: string | null;
  firstSeen: string;
}

export interface SuggestionRequest extends Omit<ActionRequest, 'action' | 'filter'> {
  action: SuggestionAction;
}

const itemsOf = (req: SuggestionRequest, totals: ActionRecord['totals']) => ({
  itemIds: req.itemIds,
  count: req.itemIds.length,
  totals,
});

export interface RuleMatchCounts {
  rule: string;
  /** Matched by the rule on its own (the run's summary). */
  matchedAuto: number;
  /** Suggestions of the rule a person confirmed. */
  matchedConfirmed: number;
  /** Suggestions of the rule still waiting for a person (open or explained). */
  suggestedPending: number;
  /** Suggestions of the rule a person rejected. */
  rejected: number;
}

function refuse(message: string, type = 'InvalidExceptionAction'): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

export function createSuggestionStore(deps: ExceptionActionStoreDeps) {
  const { pool } = deps;
  const sensitive = new Set<SensitiveColumn>(deps.sensitiveColumns ?? ['key', 'evidence', 'explanation']);
  const codecOf = (runId: string): Promise<RunCodec> =>
    runCodec(runId, { sealerFor: deps.sealerFor, sensitive, refuse });

  const stored = (x: ExceptionRow): StoredSuggestion => ({
    itemId: x.itemId,
    category: x.category,
    state: x.status as ExceptionState,
    key: x.key,
    currency: x.currency,
    rule: x.rule,
    aItems: x.aItems,
    bItems: x.bItems,
    evidence: x.evidence,
  });

  /** The run's suggestions still open or explained, opened (keys and evidence), in report order. */
  async function* pendingRows(runId: string): AsyncGenerator<ExceptionRow> {
    for await (const batch of deps.results.streamExceptions(runId, { statuses: ['open', 'explained'] }))
      for (const x of batch) if (x.category === 'suggested_match') yield x;
  }

  async function firstSeen(runId: string): Promise<Map<string, string>> {
    const { rows } = await pool.query<{ item_id: string; first_seen: string }>(
      `SELECT item_id, coalesce(first_seen::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')) AS first_seen
         FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1 AND category = 'suggested_match'`,
      [runId],
    );
    return new Map(rows.map((r) => [r.item_id, r.first_seen]));
  }


  /** The decision's writes, in the caller's transaction: the suggestion's state, the decision, the leftovers. */
  async function write(
    db: PoolClient,
    codec: RunCodec,
    req: SuggestionRequest,
    d: SuggestionDecision,
    seq: number,
  ): Promise<void> {
    await db.query(
      `UPDATE ${EXCEPTIONS_TABLE} SET status = $3, resolved_by = $4, resolved_at = $5::timestamptz
        WHERE run_id = $1 AND item_id = $2`,
      [req.runId, d.itemId, d.state, req.actor.id, req.at],
    );
    const m = d.match;
    await db.query(
      `INSERT INTO ${SUGGESTION_DECISIONS_TABLE} (run_id, item_id, decision, rule, by, at, candidate, a_items,
         b_items, amount_a, amount_b, difference, returned, action_seq)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10::numeric, $11::numeric, $12::numeric,
         $13::jsonb, $14)`,
      [
        req.runId,
        d.itemId,
        d.state,
        d.rule,
        req.actor.id,
        req.at,
        m ? m.number : null,
        JSON.stringify(m?.a ?? []),
        JSON.stringify(m?.b ?? []),
        m?.amountA ?? null,
        m?.amountB ?? null,
        m?.difference ?? null,
        JSON.stringify(d.returned.map((r) => r.itemId)),
        seq,
      ],
    );
    for (const r of d.returned) {
      // Sealed per value, like a person's words: the store reads per-value seals and block references alike.
      const evidence = JSON.stringify(r.evidence);
      const sealedEvidence =
        codec.sealed && sensitive.has('evidence')
          ? JSON.stringify(codec.enc(EXCEPTIONS_TABLE, 'evidence', r.itemId, evidence))
          : evidence;
      // The records keep the age they had: first seen when the suggestion was.
      await db.query(
        `INSERT INTO ${EXCEPTIONS_TABLE} (run_id, item_id, side, key, category, currency, amount, difference, rule,
           a_items, b_items, amount_a, amount_b, accepted, evidence, status, first_seen, first_seen_period)
         SELECT $1, $2, $3, $4, $5, currency, $6::numeric, $7::numeric, rule, $8::jsonb, $9::jsonb, $10::numeric,
                $11::numeric, false, $12::jsonb, 'open', first_seen, first_seen_period
           FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1 AND item_id = $13`,
        [
          req.runId,
          r.itemId,
          r.side,
          codec.enc(EXCEPTIONS_TABLE, 'key', r.itemId, r.key),
          r.category,
          r.amount,
          r.difference,
          JSON.stringify(r.aItems),
          JSON.stringify(r.bItems),
          r.amountA,
          r.amountB,
          sealedEvidence,
          d.itemId,
        ],
      );
    }
  }

  return {
    /** The run's pending suggestions passing `filter` on `asOf`, with their candidates; a page and the count. */
    async list(
      runId: string,
      opts: { filter?: ExceptionFilter; asOf: string; offset?: number; limit?: number },
    ): Promise<{ items: PendingSuggestion[]; count: number }> {
      const f = parseExceptionFilter(opts.filter ?? {});
      const seen = await firstSeen(runId);
      const all: PendingSuggestion[] = [];
      for await (const x of pendingRows(runId)) {
        const first = seen.get(x.itemId) ?? opts.asOf;
        const filterable = {
          itemId: x.itemId,
          category: x.category,
          currency: x.currency,
          amount: x.difference ?? x.amount ?? '0',
          state: x.status as ExceptionState,
          key: x.key,
          firstSeen: first,
        };
        if (!matchesFilter(filterable, f, opts.asOf)) continue;
        all.push({
          ...readSuggestion(stored(x)),
          runId,
          state: x.status as ExceptionState,
          difference: x.difference,
          firstSeen: first,
        });
      }
      const offset = opts.offset ?? 0;
      return {
        items: all.slice(offset, opts.limit === undefined ? undefined : offset + opts.limit),
        count: all.length,
      };
    },

    /**
     * Applies one person's confirm or reject of one suggestion, or nothing: refused (and recorded as refused) when
     * the person does not hold the owner role, the action names another run or more than one item, the item is not
     * a pending suggestion, the candidate is not listed, the suggestion no longer adds up to what was signed, or the
     * token was already applied.
     */
    async decide(
      req: SuggestionRequest,
    ): Promise<{ seq: number; count: number; totals: ActionRecord['totals']; decision: SuggestionDecision }> {
      const codec = await codecOf(req.runId);
      let totals: ActionRecord['totals'] = req.expected?.totals ?? [];
      const refused = async (message: string, type: string): Promise<never> => {
        const seq = await recordActionRow(pool, codec, req, { accepted: false, refusal: message, type }, itemsOf(req, totals));
        throw refuse(`${message} (refusal recorded as action ${seq})`, type);
      };
      try {
        if (req.claimedRunId !== undefined && req.claimedRunId !== req.runId)
          return await refused(
            `the action names exceptions of run ${req.claimedRunId}, not of ${req.reconId}'s run ${req.runId}`,
            'ExceptionOfAnotherRun',
          );
        if (req.itemIds.length !== 1)
          return await refused(
            `a ${req.action.action} names exactly one suggestion, not ${req.itemIds.length}`,
            'InvalidExceptionAction',
          );
        try {
          authoriseExceptionAction(req.actor, req.ownerRoles, req.reconId);
        } catch (err) {
          if (err instanceof ExceptionActionError) return await refused(err.message, err.type);
          throw err;
        }
        if (req.proof) {
          const { rows: used } = await pool.query<{ seq: string }>(
            `SELECT seq::text FROM ${EXCEPTION_ACTIONS_TABLE} WHERE nonce = $1 AND accepted`,
            [req.proof.nonce],
          );
          if (used.length)
            return await refused(
              `the signed action ${req.proof.nonce} was already applied (action ${used[0].seq}): a token counts once`,
              'ExceptionActionReplayed',
            );
        }
        const itemId = req.itemIds[0];
        // The row opened (key, evidence) through the result store; its state is read again under the lock below.
        let row: ExceptionRow | undefined;
        for await (const batch of deps.results.streamExceptions(req.runId, { itemId }))
          for (const x of batch) if (x.itemId === itemId) row = x;
        if (!row)
          return await refused(`no exception ${itemId} in run ${req.runId}: nothing was changed`, 'ExceptionNotFound');
        const db = await pool.connect();
        let problem: { message: string; type: string } | undefined;
        let out: { seq: number; decision: SuggestionDecision } | undefined;
        try {
          await db.query('BEGIN');
          const { rows: locked } = await db.query<{ status: ExceptionState; currency: string | null; amount: string }>(
            `SELECT status, currency, coalesce(difference, amount, 0)::text AS amount
               FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1 AND item_id = $2 FOR UPDATE`,
            [req.runId, itemId],
          );
          const now = locked[0];
          totals = totalsByCurrency([{ itemId, currency: now.currency, amount: now.amount }]);
          const sameTotals = JSON.stringify(req.expected?.totals ?? totals) === JSON.stringify(totals);
          let decision: SuggestionDecision | undefined;
          if (!sameTotals)
            problem = {
              message: `suggestion ${itemId} no longer adds up to what was signed: totals ${JSON.stringify(totals)}; nothing was changed`,
              type: 'ExceptionSelectionChanged',
            };
          else
            try {
              decision = decideSuggestion({ ...stored(row), state: now.status }, req.action, req);
            } catch (err) {
              if (!(err instanceof ExceptionActionError)) throw err;
              problem = { message: `${err.message}; nothing was changed`, type: err.type };
            }
          if (problem || !decision) await db.query('ROLLBACK');
          else {
            const seq = await recordActionRow(db, codec, req, { accepted: true }, itemsOf(req, totals));
            await write(db, codec, req, decision, seq);
            await db.query('COMMIT');
            out = { seq, decision };
          }
        } catch (err) {
          await db.query('ROLLBACK').catch(() => undefined);
          if ((err as { code?: string }).code === '23505' && req.proof)
            problem = {
              message: `the signed action ${req.proof.nonce} was already applied: a token counts once`,
              type: 'ExceptionActionReplayed',
            };
          else throw err;
        } finally {
          db.release();
        }
        if (problem || !out)
          return await refused(problem?.message ?? 'not applied', problem?.type ?? 'InvalidExceptionAction');
        return { seq: out.seq, count: 1, totals, decision: out.decision };
      } finally {
        codec.dispose();
      }
    },

    /**
     * Per rule of the run: matched (auto) from the run's summary, matched (confirmed) and rejected from the
     * decisions, suggested (pending) from the suggestions still open or explained; one line per rule id, sorted.
     */
    async ruleCounts(runId: string): Promise<RuleMatchCounts[]> {
      const run = await deps.results.getRun(runId);
      // The reconciliation workflow records matchesByRule; the engine's own summary spells it matches_by_rule.
      const summary = (run?.summary ?? {}) as {
        matchesByRule?: Record<string, number>;
        matches_by_rule?: Record<string, number>;
      };
      const { rows } = await pool.query<{ rule: string; what: string; n: string }>(
        `SELECT rule, decision AS what, count(*)::text AS n FROM ${SUGGESTION_DECISIONS_TABLE}
          WHERE run_id = $1 GROUP BY rule, decision
         UNION ALL
         SELECT coalesce(rule, 'unknown'), 'pending', count(*)::text FROM ${EXCEPTIONS_TABLE}
          WHERE run_id = $1 AND category = 'suggested_match' AND status IN ('open', 'explained')
          GROUP BY rule`,
        [runId],
      );
      const out = new Map<string, RuleMatchCounts>();
      const of = (rule: string) => {
        let c = out.get(rule);
        if (!c) {
          c = { rule, matchedAuto: 0, matchedConfirmed: 0, suggestedPending: 0, rejected: 0 };
          out.set(rule, c);
        }
        return c;
      };
      for (const [rule, n] of Object.entries(summary.matchesByRule ?? summary.matches_by_rule ?? {}))
        of(rule).matchedAuto = n;
      for (const r of rows) {
        const c = of(r.rule);
        const n = Number(r.n);
        if (r.what === 'confirmed') c.matchedConfirmed = n;
        else if (r.what === 'rejected') c.rejected = n;
        else c.suggestedPending = n;
      }
      // By rule id: the stored summary (jsonb) does not keep the definition's order of its rules.
      return [...out.values()].sort((x, y) => (x.rule < y.rule ? -1 : x.rule > y.rule ? 1 : 0));
    },
  };
}

export type SuggestionStore = ReturnType<typeof createSuggestionStore>;
