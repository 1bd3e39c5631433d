// The preparer's certification of a reconciliation run in the result store (issue 15; the rule is
// domain/exceptions/certification.ts): one row of the action history (action `certify`, no items, the count and
// per-currency totals of the run's exceptions, the statement and how many stood in each state sealed in its
// detail), accepted or refused with who and why. Whether a run's certification stands is read from the same
// history: the approval checkpoint's gate asks it through an activity.
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import {
  certificationOf,
  type CertificationStatus,
  type CertifyAction,
  countsByState,
} from '../../domain/exceptions/certification';
import { totalsByCurrency } from '../../domain/exceptions/filter';
import {
  type Actor,
  authoriseExceptionAction,
  ExceptionActionError,
  type ExceptionState,
} from '../../domain/exceptions/lifecycle';
import { recordActionRow } from './action-history';
import { type RunSealer, runCodec, type SensitiveColumn } from './run-codec';
import { EXCEPTION_ACTIONS_TABLE, EXCEPTIONS_TABLE } from './schema';

export interface CertificationStoreDeps {
  pool: Pool;
  sealerFor?: RunSealer;
  sensitiveColumns?: SensitiveColumn[];
}

export interface CertifyRequest {
  runId: string;
  /** The run the signed certification names. */
  claimedRunId?: string;
  reconId: string;
  actor: Actor;
  ownerRoles: readonly string[];
  action: CertifyAction;
  /** The count and totals of the run's exceptions the preparer saw and signed. */
  expected?: { count: number; totals: { currency: string | null; total: string }[] };
  at: string;
  proof?: { nonce: string; kid: string; issuer: string };
}

type Totals = { currency: string | null; total: string }[];

const refuse = (message: string, type = 'InvalidExceptionAction') => ApplicationFailure.nonRetryable(message, type);

const sameTotals = (a: Totals, b: Totals) =>
  JSON.stringify(a.map((t) => [t.currency, t.total])) === JSON.stringify(b.map((t) => [t.currency, t.total]));

export function createCertificationStore(deps: CertificationStoreDeps) {
  const { pool } = deps;
  const sensitive = new Set<SensitiveColumn>(deps.sensitiveColumns ?? ['key', 'evidence', 'explanation']);

  return {
    /**
     * Records the preparer's certification of run `runId`, or refuses it (recorded as refused): another run named,
     * a signer without the owner role, a token already used, or the run's exceptions no longer adding up to the
     * count and totals signed. Changes no exception.
     */
    async certify(req: CertifyRequest): Promise<{ seq: number; count: number; totals: Totals }> {
      const codec = await runCodec(req.runId, { sealerFor: deps.sealerFor, sensitive, refuse });
      const db = await pool.connect();
      try {
        await db.query('BEGIN');
        const { rows } = await db.query<{
          item_id: string;
          status: ExceptionState;
          currency: string | null;
          amount: string;
        }>(
          `SELECT item_id, status, currency, coalesce(difference, amount, 0)::text AS amount
             FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1 ORDER BY item_id FOR SHARE`,
          [req.runId],
        );
        const totals = totalsByCurrency(
          rows.map((r) => ({ itemId: r.item_id, currency: r.currency, amount: r.amount })),
        );
        const detail = { ...req.action, states: countsByState(rows.map((r) => ({ state: r.status }))) };
        const row = { ...req, action: detail };
        const items = { itemIds: [], count: rows.length, totals };
        let problem: { message: string; type: string } | undefined;
        if (req.claimedRunId !== undefined && req.claimedRunId !== req.runId)
          problem = {
            message: `the certification names run ${req.claimedRunId}, not ${req.reconId}'s run ${req.runId}`,
            type: 'ExceptionOfAnotherRun',
          };
        if (!problem)
          try {
            authoriseExceptionAction(req.actor, req.ownerRoles, req.reconId);
          } catch (err) {
            if (!(err instanceof ExceptionActionError)) throw err;
            problem = { message: err.message.replace('work the exceptions of', 'certify'), type: err.type };
          }
        if (!problem && req.proof) {
          const { rows: used } = await db.query<{ seq: string }>(
            `SELECT seq::text FROM ${EXCEPTION_ACTIONS_TABLE} WHERE nonce = $1 AND accepted`,
            [req.proof.nonce],
          );
          if (used.length)
            problem = {
              message: `the signed certification ${req.proof.nonce} was already applied (action ${used[0].seq}): a token counts once`,
              type: 'ExceptionActionReplayed',
            };
        }
        if (
          !problem &&
          req.expected &&
          (req.expected.count !== rows.length || !sameTotals(req.expected.totals, totals))
        )
          problem = {
            message:
              `the certification was signed for ${req.expected.count} exception(s) totalling ` +
              `${JSON.stringify(req.expected.totals)}, but run ${req.runId} now holds ${rows.length} totalling ` +
              `${JSON.stringify(totals)}: nothing was certified`,
            type: 'ExceptionSelectionChanged',
          };
        if (problem) {
          await db.query('ROLLBACK');
          const seq = await recordActionRow(
            pool,
            codec,
            row,
            { accepted: false, refusal: problem.message, ...problem },
            items,
          );
          throw refuse(`${problem.message} (refusal recorded as action ${seq})`, problem.type);
        }
        const seq = await recordActionRow(db, codec, row, { accepted: true }, items);
        await db.query('COMMIT');
        return { seq, count: rows.length, totals };
      } catch (err) {
        await db.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        db.release();
        codec.dispose();
      }
    },

    /** Whether run `runId`'s latest certification stands (no accepted action on its exceptions after it). */
    async status(runId: string): Promise<CertificationStatus> {
      const { rows } = await pool.query<{ seq: string; action: string; by: string; at: Date; accepted: boolean }>(
        `SELECT seq::text, action, by, at, accepted FROM ${EXCEPTION_ACTIONS_TABLE}
          WHERE run_id = $1 AND accepted ORDER BY seq`,
        [runId],
      );
      return certificationOf(
        rows.map((r) => ({
          seq: Number(r.seq),
          action: r.action,
          by: r.by,
          at: r.at.toISOString(),
          accepted: r.accepted,
        })),
      );
    },
  };
}

export type CertificationStore = ReturnType<typeof createCertificationStore>;
