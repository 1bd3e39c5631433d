// A waiver of a close task waits for its approval (issue 19: moved out of workflows/month-end-close.ts, behaviour
// unchanged): the task's waiver checkpoint `waive:<taskId>` runs beside the close; its decision waives the task or
// is journaled as refused (domain/close/waiver.ts says what each outcome means).
import { isCancellation } from '@temporalio/workflow';
import { waiverApproval, waiverCheckpointId, waiverDecision } from '../../domain/close/waiver';
import type { TaskAction, TaskStatus } from '../types';
import { cancelledWithClose } from './cancellation';
import { failureMessage } from './runtime';
import { bump, nowIso, type CloseRun } from './state';

export function openWaiver(r: CloseRun, t: TaskStatus, a: TaskAction): void {
  const checkpointId = waiverCheckpointId(t.id);
  // A task added during the close gets its waiver checkpoint now, from the same template as the plan's tasks (a
  // later run of the close gets it at its start, from the carried plan).
  if (t.added) r.checkpoints.addFromTemplate(checkpointId, r.waiverTemplate);
  t.waiver = { checkpointId, requestedBy: a.by, state: 'open' };
  if (a.reason) t.waiver.reason = a.reason;
  const config = waiverApproval({
    task: t,
    by: a.by,
    reason: a.reason,
    closeId: r.closeId,
    itemType: r.waiverItemType,
  });
  const p = (async () => {
    let outcome: { state: string; reason?: string };
    try {
      outcome = await r.checkpoints.run(config);
    } catch (err) {
      if (cancelledWithClose(r, err)) return; // the waiver stays undecided: the close ends cancelled
      if (isCancellation(err)) throw err;
      outcome = { state: 'refused', reason: failureMessage(err) };
    }
    const waiver = t.waiver as NonNullable<TaskStatus['waiver']>;
    const deciders = (r.checkpoints.statuses().find((c) => c.checkpointId === checkpointId)?.decisions ?? []).map(
      (d) => d.approverId,
    );
    const decision = waiverDecision({ taskId: t.id, by: a.by, reason: a.reason }, outcome, deciders, nowIso());
    if (decision.approved) {
      waiver.state = 'approved';
      t.state = 'waived';
      t.reason = decision.taskReason;
      t.finishedAt = nowIso();
    } else {
      waiver.state = 'refused';
    }
    r.journal.push(decision.entry);
  })().finally(() => {
    r.waivers.delete(t.id);
    bump(r);
  });
  r.waivers.set(t.id, p);
}
