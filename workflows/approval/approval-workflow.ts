// One approval checkpoint on its own, outside a close: e.g. a journal entry posted mid-month that needs the
// delegation-of-authority chain. Same handlers, rules, timers and outbox as a checkpoint inside a close; the
// result is the checkpoint's final status (audit trail included).
import { allHandlersFinished, condition } from '@temporalio/workflow';
import type { ApprovalWorkflowInput, CheckpointStatus } from '../types';
import { createCheckpoints } from './checkpoints';

export async function approvalWorkflow(input: ApprovalWorkflowInput): Promise<CheckpointStatus> {
  const checkpoints = createCheckpoints({
    policy: input.approvalPolicy,
    owner: input.owner,
    allowUnsignedApprovals: input.allowUnsignedApprovals,
  });
  checkpoints.install();
  await checkpoints.run({ checkpointId: input.checkpointId, item: input.item });
  // A decision still being verified when the checkpoint settled gets its answer (a refusal) before the end.
  await condition(allHandlersFinished);
  return checkpoints.statuses()[0];
}
