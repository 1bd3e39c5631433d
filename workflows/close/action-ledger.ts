// People's task actions in the audit ledger (issue 18): each journal entry the close writes for a task action,
// accepted or refused with why, is appended to the hash-chained ledger by a local activity. The write runs in the
// background, as the close's notices do; the close awaits it before it continues as new or ends. Closes that
// journaled actions before this existed replay without it (patched).
import { patched, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { ApprovalActivities } from '../../activities/approval';
import type { CloseRun } from './state';

/** patched() id: the close's task-action journal entries are appended to the audit ledger. */
export const TASK_ACTIONS_IN_LEDGER = 'task-actions-in-ledger';

// Retried until the ledger takes it: an action without its record would be a control claimed but not evidenced.
const ledgerActivities = proxyLocalActivities<ApprovalActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/** Sends the journal entry at `index` to the ledger; the close's background list keeps the write until it lands. */
export function ledgerTaskAction(r: CloseRun, index: number): void {
  if (!patched(TASK_ACTIONS_IN_LEDGER)) return;
  r.background.push(
    ledgerActivities
      .recordTaskActionInLedger({
        closeId: r.closeId,
        firstRunId: workflowInfo().firstExecutionRunId,
        index,
        entry: r.journal[index],
      })
      .then(() => undefined),
  );
}
