// Roll-forward in the result store (issue 15): a run records its company, period and as-of date and dates its own
// exceptions first seen on that as-of date; the previous period's run of the same reconciliation (the latest
// finished run of the same company with an earlier as-of date) hands over its unresolved exceptions, which
// domain/exceptions/roll-forward.ts pairs with this run's open exceptions. Every brought-forward item becomes a row
// of this run (item `bf:<first item id>`, naming the run and item it came from, keeping its first-seen date, reason
// code and explanation): cleared ones resolved as cleared_next_period with a reference to the matching record, by
// the system (never a person), the rest carried. This run's exceptions that cleared them are resolved the same way,
// naming the brought-forward item. All of it is one transaction, recorded as one system action in the action
// history, and repeatable: a retry reaches the same decision (this run's items the roll-forward already closed
// count as candidates again).
import type { Pool, PoolClient } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { ageingOfGroups, type AgeingGroup } from '../../domain/exceptions/ageing-groups';
import type { AgeingRow } from '../../domain/exceptions/ageing';
import type { ExceptionState } from '../../domain/exceptions/lifecycle';
import {
  BROUGHT_FORWARD_STATES,
  carriedState,
  type CountAndTotals,
  decideRollForward,
  type RollForwardRule,
  rollForwardActor,
  ROLL_FORWARD_RULE,
  rollForwardTotals,
} from '../../domain/exceptions/roll-forward';
import { type RunCodec, type RunSealer, runCodec, type SensitiveColumn } from './run-codec';
import { EXCEPTION_ACTIONS_TABLE, EXCEPTIONS_TABLE, RUNS_TABLE } from './schema';
import type { ExceptionRow, ResultStore } from './store';

export interface RollForwardStoreDeps {
  pool: Pool;
  /** The result store on the same database: reads runs' exceptions with their sealed columns opened. */
  results: ResultStore;
  sealerFor?: RunSealer;
  sensitiveColumns?: SensitiveColumn[];
}

export interface RollForwardInput {
  runId: string;
  reconId: string;
  /** The close's company: only its own earlier runs of the reconciliation hand items over. */
  company: string;
  /** The run's period (yyyy-mm or as the close names it) and as-of date (yyyy-mm-dd). */
  period: string;
  asOf: string;
  /** The reconciliation's own tolerance rules, applied after the exact clearing (domain/exceptions/roll-forward.ts). */
  rules?: RollForwardRule[];
}

export interface RollForwardOutcome {
  /** The previous period's run the items came from, or null when this is the reconciliation's first period. */
  fromRunId: string | null;
  fromPeriod: string | null;
  /** Brought in = cleared + carried (count and per-currency signed totals), checked. */
  broughtIn: CountAndTotals;
  cleared: CountAndTotals;
  carried: CountAndTotals;
  /** This run's own exceptions closed against a brought-forward item (the other side of each cleared one). */
  clearedOwn: number;
  /** Rows this run holds for brought-forward items, per category: they are not records of side a or b. */
  broughtForwardByCategory: Record<string, number>;
  /** The run's unresolved exceptions (own and carried) by age on the as-of date, per category and currency. */
  ageing: AgeingRow[];
}

/** Rows per set-based statement. */
const CHUNK = 2000;

/** The action the roll-forward records in the action history (one per run). */
export const ROLL_FORWARD_ACTION = 'roll_forward';

function refuse(message: string, type = 'InvalidInput'): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

interface Lifecycle {
  reason_code: string | null;
  first_seen: string;
  first_seen_period: string | null;
  bf_item_id: string | null;
}

type Prev = ExceptionRow & { lifecycle: Lifecycle; difference: string; state: ExceptionState };
type Own = ExceptionRow & { difference: string };

const signed = (x: ExceptionRow): string =>
  x.difference ?? (x.side === 'b' ? `-${x.amount ?? '0'}` : (x.amount ?? '0'));
const bfId = (x: Prev): string => (x.itemId.startsWith('bf:') ? x.itemId : `bf:${x.itemId}`);
const recordsOf = (x: ExceptionRow): string[] => [...x.aItems, ...x.bItems];

export function createRollForwardStore(deps: RollForwardStoreDeps) {
  const { pool } = deps;
  const sensitive = new Set<SensitiveColumn>(deps.sensitiveColumns ?? ['key', 'evidence', 'explanation']);
  const codecOf = (runId: string): Promise<RunCodec> =>
    runCodec(runId, { sealerFor: deps.sealerFor, sensitive, refuse });

  async function previousRun(
    input: RollForwardInput,
  ): Promise<{ runId: string; period: string | null; asOf: string } | undefined> {
    const { rows } = await pool.query<{ run_id: string; period: string | null; as_of: string }>(
      `SELECT run_id, period, as_of::text FROM ${RUNS_TABLE}
        WHERE recon_id = $1 AND company = $4 AND run_id <> $2 AND as_of < $3::date
          AND status IN ('balanced', 'exceptions')
        ORDER BY as_of DESC, finished_at DESC NULLS LAST, run_id DESC LIMIT 1`,
      [input.reconId, input.runId, input.asOf, input.company],
    );
    return rows[0] ? { runId: rows[0].run_id, period: rows[0].period, asOf: rows[0].as_of } : undefined;
  }

  /** The previous run's unresolved exceptions, keys and explanations opened, with their lifecycle columns. */
  async function broughtForward(fromRunId: string): Promise<Prev[]> {
    const { rows } = await pool.query<Lifecycle & { item_id: string }>(
      `SELECT item_id, reason_code, coalesce(first_seen::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')) AS first_seen,
              first_seen_period, bf_item_id
         FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1 AND status = ANY($2::text[])`,
      [fromRunId, BROUGHT_FORWARD_STATES],
    );
    const lifecycle = new Map(rows.map((r) => [r.item_id, r]));
    const out: Prev[] = [];
    for await (const batch of deps.results.streamExceptions(fromRunId, { statuses: [...BROUGHT_FORWARD_STATES] }))
      for (const x of batch) {
        const l = lifecycle.get(x.itemId);
        // Changed between the two reads (someone resolved it meanwhile): it is left to the next run.
        if (l) out.push({ ...x, difference: signed(x), state: x.status as ExceptionState, lifecycle: l });
      }
    return out;
  }

  /**
   * This run's own exceptions that could clear a brought-forward item: open ones on a key and currency some item
   * has, and (on a retry) those this roll-forward already closed.
   */
  async function candidates(runId: string, actor: string, prev: readonly Prev[]): Promise<Own[]> {
    const slots = new Set(prev.map((p) => `${p.key}\u0000${p.currency ?? ''}`));
    const { rows } = await pool.query<{ item_id: string }>(
      `SELECT item_id FROM ${EXCEPTIONS_TABLE}
        WHERE run_id = $1 AND bf_run_id IS NULL AND NOT accepted
          AND (status = 'open' OR (status = 'resolved' AND resolved_by = $2))`,
      [runId, actor],
    );
    const ids = new Set(rows.map((r) => r.item_id));
    const out: Own[] = [];
    if (!ids.size || !slots.size) return out;
    for await (const batch of deps.results.streamExceptions(runId, { statuses: ['open', 'resolved'] }))
      for (const x of batch)
        if (ids.has(x.itemId) && slots.has(`${x.key}\u0000${x.currency ?? ''}`))
          out.push({ ...x, difference: signed(x) });
    return out;
  }

  async function ageing(runId: string, asOf: string): Promise<AgeingRow[]> {
    const { rows } = await pool.query<{
      category: string;
      currency: string | null;
      first_seen: string;
      n: string;
      total: string;
    }>(
      `SELECT category, currency, first_seen::text, count(*)::text AS n,
              sum(coalesce(difference, amount, 0))::text AS total
         FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1 AND status = ANY($2::text[])
        GROUP BY category, currency, first_seen`,
      [runId, BROUGHT_FORWARD_STATES],
    );
    const groups: AgeingGroup[] = rows.map((r) => ({
      category: r.category,
      currency: r.currency,
      firstSeen: r.first_seen,
      count: Number(r.n),
      total: r.total,
    }));
    return ageingOfGroups(groups, asOf);
  }

  async function insertBroughtForward(
    db: PoolClient,
    codec: RunCodec,
    input: RollForwardInput,
    fromRunId: string,
    rows: { item: Prev; state: ExceptionState; clearedBy?: Own; because?: string }[],
    actor: string,
    now: string,
  ): Promise<void> {
    // Set-based, a chunk at a time: one statement per CHUNK rows instead of one per row.
    for (let from = 0; from < rows.length; from += CHUNK) {
      const records = rows.slice(from, from + CHUNK).map(({ item: x, state, clearedBy, because }) => {
        const id = bfId(x);
        const evidence = JSON.stringify(x.evidence ?? {});
        const records = clearedBy ? recordsOf(clearedBy).join(', ') : null;
        const explanation =
          x.explanation ?? (clearedBy ? `cleared next period by ${records} (roll-forward, run ${input.runId})` : null);
        const note = clearedBy
          ? `cleared next period: the other side, record ${records} (exception ${clearedBy.itemId} of run ${input.runId}), ${because ?? 'has the same key and the opposite amount'}`
          : null;
        return {
          item_id: id,
          side: x.side,
          key: codec.enc(EXCEPTIONS_TABLE, 'key', id, x.key),
          category: x.category,
          currency: x.currency,
          amount: x.amount,
          difference: x.difference,
          rule: x.rule,
          a_items: x.aItems,
          b_items: x.bItems,
          amount_a: x.amountA,
          amount_b: x.amountB,
          // Sealed evidence is a JSON string inside the jsonb column, as the result store keeps it.
          evidence:
            codec.sealed && sensitive.has('evidence')
              ? codec.enc(EXCEPTIONS_TABLE, 'evidence', id, evidence)
              : (x.evidence ?? {}),
          status: state,
          reason_code: x.lifecycle.reason_code,
          explanation: explanation === null ? null : codec.enc(EXCEPTIONS_TABLE, 'explanation', id, explanation),
          explained_by: x.explainedBy ?? (clearedBy ? actor : null),
          explained_at: x.explainedAt ?? (clearedBy ? now : null),
          resolution_kind: clearedBy ? 'cleared_next_period' : null,
          resolution_reference: records,
          resolution_note:
            note === null ? null : codec.enc(EXCEPTIONS_TABLE, 'resolution_note', id, note, 'explanation'),
          resolved_by: clearedBy ? actor : null,
          first_seen: x.lifecycle.first_seen,
          first_seen_period: x.lifecycle.first_seen_period,
          bf_item_id: x.itemId,
        };
      });
      await db.query(
        `INSERT INTO ${EXCEPTIONS_TABLE} (run_id, item_id, side, key, category, currency, amount, difference, rule,
           a_items, b_items, amount_a, amount_b, accepted, evidence, part, status, reason_code, explanation,
           explained_by, explained_at, resolution_kind, resolution_reference, resolution_note, resolved_by,
           resolved_at, first_seen, first_seen_period, bf_run_id, bf_item_id)
         SELECT $1, r.item_id, r.side, r.key, r.category, r.currency, r.amount, r.difference, r.rule, r.a_items,
                r.b_items, r.amount_a, r.amount_b, false, r.evidence, NULL, r.status, r.reason_code, r.explanation,
                r.explained_by, r.explained_at, r.resolution_kind, r.resolution_reference, r.resolution_note,
                r.resolved_by, CASE WHEN r.resolved_by IS NULL THEN NULL ELSE $3::timestamptz END, r.first_seen,
                r.first_seen_period, $2, r.bf_item_id
           FROM jsonb_to_recordset($4::jsonb) AS r(item_id text, side text, key text, category text, currency text,
                amount numeric, difference numeric, rule text, a_items jsonb, b_items jsonb, amount_a numeric,
                amount_b numeric, evidence jsonb, status text, reason_code text, explanation text, explained_by text,
                explained_at timestamptz, resolution_kind text, resolution_reference text, resolution_note text,
                resolved_by text, first_seen date, first_seen_period text, bf_item_id text)
         ON CONFLICT (run_id, item_id) DO NOTHING`,
        [input.runId, fromRunId, now, JSON.stringify(records)],
      );
    }
  }

  return {
    /** The run's roll-forward: see the module comment. Returns counts, totals and ageing only (no records). */
    async rollForward(input: RollForwardInput): Promise<RollForwardOutcome> {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(input.asOf))
        throw refuse(`roll-forward: asOf ${JSON.stringify(input.asOf)} is not yyyy-mm-dd`);
      const actor = rollForwardActor(input.runId);
      if (!input.company) throw refuse('roll-forward: the company is empty');
      const run = await pool.query(
        `UPDATE ${RUNS_TABLE} SET period = $2, as_of = $3::date, company = $4 WHERE run_id = $1`,
        [input.runId, input.period, input.asOf, input.company],
      );
      if (run.rowCount !== 1)
        throw refuse(`no run ${input.runId}: start the run before rolling forward`, 'RunNotStarted');
      // This run's own exceptions were first seen on its as-of date (a business date, never the clock's).
      await pool.query(
        `UPDATE ${EXCEPTIONS_TABLE} SET first_seen = $2::date, first_seen_period = $3
          WHERE run_id = $1 AND bf_run_id IS NULL AND first_seen_period IS NULL`,
        [input.runId, input.asOf, input.period],
      );
      const from = await previousRun(input);
      const prev = from ? await broughtForward(from.runId) : [];
      const own = from ? await candidates(input.runId, actor, prev) : [];
      const decision = decideRollForward(prev, own, input.rules ?? []);
      const because = (c: { rule: string; residual: string }) =>
        c.rule === ROLL_FORWARD_RULE
          ? 'has the same key and the opposite amount'
          : `has the same key and an opposite amount within rule ${c.rule}'s tolerance (difference ${c.residual})`;
      let totals: ReturnType<typeof rollForwardTotals>;
      try {
        totals = rollForwardTotals(prev, decision);
      } catch (err) {
        throw refuse(`${input.reconId}: ${(err as Error).message}`, 'ControlTotalsError');
      }
      const byCategory: Record<string, number> = {};
      for (const x of prev) byCategory[x.category] = (byCategory[x.category] ?? 0) + 1;

      if (from && prev.length) {
        const codec = await codecOf(input.runId);
        const db = await pool.connect();
        try {
          await db.query('BEGIN');
          await db.query(`SELECT 1 FROM ${RUNS_TABLE} WHERE run_id = $1 FOR UPDATE`, [input.runId]);
          const now = (await db.query<{ now: Date }>('SELECT now() AS now')).rows[0].now.toISOString();
          const ids = prev.map(bfId);
          const { rows: clash } = await db.query<{ item_id: string }>(
            `SELECT item_id FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1 AND item_id = ANY($2::text[]) AND bf_run_id IS NULL`,
            [input.runId, ids],
          );
          if (clash.length)
            throw refuse(
              `${input.reconId}: this run's own exception ${clash[0].item_id} has the id a brought-forward item takes; nothing was rolled forward`,
              'RollForwardConflict',
            );
          await insertBroughtForward(
            db,
            codec,
            input,
            from.runId,
            [
              ...decision.cleared.map((c) => ({
                item: c.broughtForward,
                state: 'resolved' as const,
                clearedBy: c.by,
                because: because(c),
              })),
              ...decision.carried.map((x) => ({ item: x, state: carriedState(x.state) })),
            ],
            actor,
            now,
          );
          for (let i = 0; i < decision.cleared.length; i += CHUNK) {
            const own = decision.cleared.slice(i, i + CHUNK).map((c) => {
              const id = c.by.itemId;
              const text = `cleared next period: brought-forward exception ${c.broughtForward.itemId} of run ${from.runId} (period ${from.period ?? from.asOf}) ${because(c)}`;
              return {
                item_id: id,
                reference: `${from.runId}#${c.broughtForward.itemId}`,
                note: codec.enc(EXCEPTIONS_TABLE, 'resolution_note', id, text, 'explanation'),
                explanation: codec.enc(EXCEPTIONS_TABLE, 'explanation', id, text),
              };
            });
            await db.query(
              `UPDATE ${EXCEPTIONS_TABLE} t SET status = 'resolved', resolution_kind = 'cleared_next_period',
                      resolution_reference = v.reference, resolution_note = v.note, resolved_by = $2,
                      resolved_at = $3::timestamptz, explanation = coalesce(t.explanation, v.explanation),
                      explained_by = coalesce(t.explained_by, $2), explained_at = coalesce(t.explained_at, $3::timestamptz)
                 FROM jsonb_to_recordset($4::jsonb) AS v(item_id text, reference text, note text, explanation text)
                WHERE t.run_id = $1 AND t.item_id = v.item_id AND t.status = 'open'`,
              [input.runId, actor, now, JSON.stringify(own)],
            );
          }
          const { rows: done } = await db.query(
            `SELECT 1 FROM ${EXCEPTION_ACTIONS_TABLE} WHERE run_id = $1 AND action = $2 AND accepted`,
            [input.runId, ROLL_FORWARD_ACTION],
          );
          if (!done.length) {
            const actionId = `roll-forward:${input.runId}`;
            const detail = {
              system: true,
              fromRunId: from.runId,
              fromPeriod: from.period,
              cleared: decision.cleared.map((c) => ({
                item: bfId(c.broughtForward),
                from: c.broughtForward.itemId,
                by: c.by.itemId,
                records: recordsOf(c.by),
                rule: c.rule,
                residual: c.residual,
              })),
              carried: decision.carried.map(bfId),
            };
            await db.query(
              `INSERT INTO ${EXCEPTION_ACTIONS_TABLE} (action_id, run_id, recon_id, action, by, at, accepted, item_ids,
                 count, totals, detail)
               VALUES ($1, $2, $3, $4, $5, now(), true, $6::jsonb, $7, $8::jsonb, $9)`,
              [
                actionId,
                input.runId,
                input.reconId,
                ROLL_FORWARD_ACTION,
                actor,
                JSON.stringify([...ids, ...decision.cleared.map((c) => c.by.itemId)]),
                decision.cleared.length,
                JSON.stringify(totals.cleared.totals),
                codec.enc(EXCEPTION_ACTIONS_TABLE, 'detail', actionId, JSON.stringify(detail), 'explanation'),
              ],
            );
          }
          await db.query('COMMIT');
        } catch (err) {
          await db.query('ROLLBACK').catch(() => undefined);
          throw err;
        } finally {
          db.release();
          codec.dispose();
        }
      }
      return {
        fromRunId: from?.runId ?? null,
        fromPeriod: from?.period ?? null,
        ...totals,
        clearedOwn: decision.cleared.length,
        broughtForwardByCategory: byCategory,
        ageing: await ageing(input.runId, input.asOf),
      };
    },
  };
}

export type RollForwardStore = ReturnType<typeof createRollForwardStore>;
