// Approval decisions and resubmissions in the hash-chained audit ledger (issue 18). The checkpoint's workflow
// judges each attempt, keeps it in its trail, then hands it here: accepted or refused, whoever sent it (the gateway,
// `finflow approve`, the plain temporal CLI). The append is idempotent by the workflow's own key for the attempt,
// so Temporal's retries never write it twice; without a ledger database the activity says so and writes nothing.
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { CloseJournalEntry } from '../../contracts';
import { AuditLedger } from '../audit-ledger/ledger';
import { resilientPool } from '../pg-pool';

export interface ApprovalLedgerEntry {
  kind: 'decision' | 'resubmission' | 'delegation';
  workflowId: string;
  runId: string;
  /** The attempt's number in this run of the workflow (with kind and runId, the append's idempotency key). */
  attempt: number;
  checkpointId: string;
  /** The workflow's time of the judgement. */
  at: string;
  /** Who: the verified signer, or whom an unverified token claimed. */
  by: string;
  /** verified: the signature was checked; failed: refused before the rules; unsigned: development mode only. */
  signature: 'verified' | 'failed' | 'unsigned';
  accepted: boolean;
  /** approved, rejected, level_signed, resubmitted... or the refusal's reason. */
  outcome: string;
  message?: string;
  decision?: string;
  round?: number;
  level?: number;
  onBehalfOf?: string;
  nonce?: string;
  kid?: string;
}

export const approvalLedgerAction = (e: Pick<ApprovalLedgerEntry, 'kind' | 'accepted'>): string =>
  `approval.${e.kind}${e.accepted ? '' : '.refused'}`;

/** The ledger subject of a checkpoint: `<workflow id>/approval/<checkpoint>` (a close's trail is its id's prefix). */
export const approvalLedgerSubject = (workflowId: string, checkpointId: string): string =>
  `${workflowId}/approval/${checkpointId || '(none)'}`;

/** A task action's signature check, as the verification activity hands it to the ledger. */
export type TaskActionCheck =
  | {
      ok: true;
      action: { action: string; by: string; taskId?: string; proof: { kid: string; nonce: string; issuer: string } };
    }
  | { ok: false; reason: string; message: string; claimedBy?: string };

function claimed(token: string): { action?: string; taskId?: string } {
  try {
    const p = decodeJwt(token);
    return {
      ...(typeof p.action === 'string' ? { action: p.action.slice(0, 64) } : {}),
      ...(typeof p.taskId === 'string' ? { taskId: p.taskId.slice(0, 256) } : {}),
    };
  } catch {
    return {};
  }
}

export function createApprovalLedgerTrail(deps: { ledger?: AuditLedger; env?: NodeJS.ProcessEnv }) {
  let opened: Promise<AuditLedger | undefined> | undefined;
  const ledger = (): Promise<AuditLedger | undefined> => {
    if (deps.ledger) return Promise.resolve(deps.ledger);
    opened ??= (async () => {
      const env = deps.env ?? process.env;
      const url = env.FINFLOW_AUDIT_DATABASE_URL ?? env.DATABASE_URL;
      if (!url) return undefined;
      const pool = resilientPool({ connectionString: url, max: 2, idleTimeoutMillis: 10_000 });
      pool.on('error', () => undefined);
      return AuditLedger.open({ pool });
    })();
    opened.catch(() => {
      opened = undefined;
    });
    return opened;
  };
  return {
    /** Appends one judged attempt; retried until the ledger takes it (the workflow's answer waits for it). */
    async recordApprovalInLedger(e: ApprovalLedgerEntry): Promise<{ recorded: boolean; seq?: number }> {
      const l = await ledger();
      if (!l) return { recorded: false };
      const { workflowId, runId, attempt, by, signature, kind, accepted, at, ...rest } = e;
      const entry = await l.append({
        actor: signature === 'failed' ? `unverified:${by}` : by,
        action: approvalLedgerAction(e),
        subject: approvalLedgerSubject(workflowId, e.checkpointId),
        payload: { workflowId, runId, signature, accepted, ...rest },
        at,
        idempotencyKey: `approval/${workflowId}/${runId}/${kind}/${attempt}`,
      });
      return { recorded: true, seq: entry.seq };
    },

    /**
     * A signed task action's signature check (issue 18): verified (the close then judges the action and journals
     * the outcome) or refused, with why. Keyed by the token's hash, so a re-run of the check writes nothing new.
     */
    async recordTaskActionCheck(input: { token: string; workflowId: string; at?: string }, v: TaskActionCheck) {
      const l = await ledger();
      if (!l) return undefined;
      const what = v.ok ? { action: v.action.action, taskId: v.action.taskId } : claimed(input.token);
      const entry = await l.append({
        actor: v.ok ? v.action.by : `unverified:${v.claimedBy ?? '(nobody)'}`,
        action: v.ok ? 'task.action.signed' : 'task.action.refused',
        subject: `${input.workflowId}/task/${what.taskId ?? '(close)'}`,
        payload: {
          workflowId: input.workflowId,
          ...(what.action ? { action: what.action } : {}),
          ...(v.ok
            ? {
                signature: 'verified',
                kid: v.action.proof.kid,
                nonce: v.action.proof.nonce,
                issuer: v.action.proof.issuer,
              }
            : { signature: 'failed', accepted: false, reason: v.reason, message: v.message }),
        },
        ...(input.at ? { at: input.at } : {}),
        idempotencyKey: `task-action/${input.workflowId}/${createHash('sha256').update(input.token).digest('hex')}`,
      });
      return entry.seq;
    },

    /**
     * The close's judgement of a person's task action (issue 18), as its journal keeps it: accepted, or refused with
     * why (a signature, the person's authority, the task's state). Keyed by the close's first run and the entry's
     * place in the journal, which the close carries from run to run.
     */
    async recordTaskActionInLedger(input: {
      closeId: string;
      firstRunId: string;
      index: number;
      entry: CloseJournalEntry;
    }): Promise<{ recorded: boolean; seq?: number }> {
      const l = await ledger();
      if (!l) return { recorded: false };
      const e = input.entry;
      const accepted = e.accepted !== false;
      const written = await l.append({
        actor: e.signed ? e.by : `unverified:${e.by}`,
        action: accepted ? 'task.action' : 'task.action.refused',
        subject: `${input.closeId}/task/${e.taskId ?? '(close)'}`,
        payload: { ...e, accepted, signature: e.signed ? 'verified' : 'unsigned', journalIndex: input.index },
        at: e.at,
        idempotencyKey: `task-action-outcome/${input.closeId}/${input.firstRunId}/${input.index}`,
      });
      return { recorded: true, seq: written.seq };
    },
  };
}
