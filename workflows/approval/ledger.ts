// Every judged decision and resubmission of a checkpoint goes to the audit ledger (issue 18), after the workflow
// has kept it in its own trail: the answer to the sender waits until the ledger has it, and the checkpoint's task
// settles only once every write has landed (so a close never ends with one in flight). Workflows that judged
// attempts before this existed replay without it (patched).
import { condition, patched, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { ApprovalActivities, ApprovalLedgerEntry } from '../../activities/approval';
import type { ApprovalAnswer } from '../definitions';

/** patched() id: judged approval decisions and resubmissions are appended to the audit ledger. */
export const APPROVALS_IN_LEDGER = 'approval-attempts-in-ledger';

// A local activity: one marker in history per attempt (a flood of refused signals must not triple the history),
// answered within the workflow task. Retried until the ledger takes it: an attempt the ledger never saw would be a
// decision without its record.
const ledgerActivities = proxyLocalActivities<ApprovalActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

export type LedgerAttempt = Omit<
  ApprovalLedgerEntry,
  'kind' | 'workflowId' | 'runId' | 'attempt' | 'accepted' | 'outcome'
>;
export type LedgerRecord = (a: LedgerAttempt, answer: ApprovalAnswer) => Promise<void>;

export interface LedgerTrail {
  /** A recorder numbering the attempts of one kind in this run, so each has its own idempotency key. */
  recorder(kind: ApprovalLedgerEntry['kind']): LedgerRecord;
  /** Resolves once no write is in flight. */
  settled(): Promise<void>;
}

export function createLedgerTrail(): LedgerTrail {
  let inFlight = 0;
  const attempts: Record<ApprovalLedgerEntry['kind'], number> = { decision: 0, resubmission: 0, delegation: 0 };
  return {
    recorder: (kind) => async (a, answer) => {
      if (!patched(APPROVALS_IN_LEDGER)) return;
      attempts[kind] += 1;
      const info = workflowInfo();
      const entry: ApprovalLedgerEntry = {
        ...a,
        kind,
        workflowId: info.workflowId,
        runId: info.runId,
        attempt: attempts[kind],
        accepted: answer.accepted,
        outcome: (answer.accepted ? answer.outcome : answer.reason) ?? (answer.accepted ? 'accepted' : 'refused'),
        message: answer.message,
        ...(a.round === undefined && answer.round ? { round: answer.round } : {}),
        ...(a.level === undefined && answer.level !== undefined ? { level: answer.level } : {}),
      };
      inFlight += 1;
      try {
        await ledgerActivities.recordApprovalInLedger(entry);
      } finally {
        inFlight -= 1;
      }
    },
    settled: () => condition(() => inFlight === 0),
  };
}
