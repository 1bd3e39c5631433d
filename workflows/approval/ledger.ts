// Every judged decision and resubmission of a checkpoint goes to the audit ledger (issue 18), after the workflow
// has kept it in its own trail: the answer to the sender waits until the ledger has it. Workflows that judged
// attempts before this existed replay without it (patched).
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ApprovalActivities, ApprovalLedgerEntry } from '../../activities/approval';
import type { ApprovalAnswer } from '../definitions';

/** patched() id: judged approval decisions and resubmissions are appended to the audit ledger. */
export const APPROVALS_IN_LEDGER = 'approval-attempts-in-ledger';

// Retried until the ledger takes it: an attempt the ledger never saw would be a decision without its record.
const ledgerActivities = proxyActivities<ApprovalActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

export type LedgerAttempt = Omit<ApprovalLedgerEntry, 'workflowId' | 'runId' | 'attempt' | 'accepted' | 'outcome'>;

/** A recorder numbering the attempts of one kind in this run, so each has its own idempotency key. */
export function ledgerRecorder(kind: ApprovalLedgerEntry['kind']) {
  let attempts = 0;
  return async function record(a: Omit<LedgerAttempt, 'kind'>, answer: ApprovalAnswer): Promise<void> {
    if (!patched(APPROVALS_IN_LEDGER)) return;
    attempts += 1;
    const info = workflowInfo();
    const entry: ApprovalLedgerEntry = {
      ...a,
      kind,
      workflowId: info.workflowId,
      runId: info.runId,
      attempt: attempts,
      accepted: answer.accepted,
      outcome: (answer.accepted ? answer.outcome : answer.reason) ?? (answer.accepted ? 'accepted' : 'refused'),
      message: answer.message,
      ...(a.round === undefined && answer.round ? { round: answer.round } : {}),
      ...(a.level === undefined && answer.level !== undefined ? { level: answer.level } : {}),
    };
    await ledgerActivities.recordApprovalInLedger(entry);
  };
}
