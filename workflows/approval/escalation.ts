// The timers of an approval checkpoint: while a round is open, reminders, escalations and at the end a deadlock
// (escalationPlan in domain/approval/rules.ts); while a rejected item is with its preparer, reminders and at the end
// of the window "not resubmitted". Each wait is a durable condition timer that any change to the checkpoint cuts
// short, so a decision arriving meanwhile is judged at once and the next timer is planned afresh.
import { condition } from '@temporalio/workflow';
import {
  applyEscalationStep,
  currentRound,
  describeSigner,
  findCheckpoint,
  formatDuration,
  isLastResubmissionTimeout,
  nextEscalationStep,
  parseDuration,
  resubmissionDueAt,
  resubmissionTimeouts,
} from '../../domain/approval';
import type { CheckpointHost } from './host';
import type { CheckpointOutcome, Instance } from './instance';

/** Runs an opened checkpoint's timers until it is approved, deadlocked or not resubmitted. */
export function createEscalation(host: CheckpointHost): (inst: Instance) => Promise<CheckpointOutcome> {
  const { now, owner } = host;
  const { notify } = host.notifier;

  function msUntil(iso: string): number {
    return Date.parse(iso) - Date.parse(now());
  }

  /** Waits until the instance changes or `dueAt`; true when it changed. */
  async function changedBefore(inst: Instance, dueAt: string, summary: string): Promise<boolean> {
    const v = inst.version;
    const ms = msUntil(dueAt);
    if (ms <= 0) return false;
    // A durable server-side timer: it survives worker restarts, and the time-skipping test server fast-forwards it.
    return condition(() => inst.version !== v, ms, { summary });
  }

  async function drive(inst: Instance): Promise<CheckpointOutcome> {
    const pol = inst.policy!;
    const cp = findCheckpoint(pol, inst.checkpointId)!;
    const timeoutMs = parseDuration(cp.escalation.timeout);
    // The preparer gets as long to fix a rejected item as the approvers got to decide on it.
    const resubmitTimeouts = resubmissionTimeouts(cp.escalation.escalation_path);
    for (;;) {
      const st = inst.state!;
      const round = currentRound(st);
      if (st.status === 'approved') return { state: 'approved' };
      if (st.status === 'open') {
        const step = nextEscalationStep(pol, st)!;
        const summary = step.kind === 'escalate' ? `escalate to ${step.toRole}` : step.kind;
        if (await changedBefore(inst, step.dueAt, `${inst.checkpointId} round ${round.round}: ${summary}`)) continue;
        const out = applyEscalationStep(pol, st, now())!;
        inst.state = out.state;
        inst.version += 1;
        const users = out.notify.users.map((u) => u.userId);
        if (out.step.kind === 'reminder')
          notify(inst, 'reminder', out.step.escalationLevel, users, out.notify.roles, `Reminder: ${out.message}`);
        else if (out.step.kind === 'escalate')
          notify(inst, 'escalated', out.step.escalationLevel, users, out.notify.roles, `Escalated: ${out.message}`, {
            toRole: out.step.toRole ?? null,
          });
        else {
          notify(
            inst,
            'deadlocked',
            out.step.escalationLevel,
            owner ? [owner] : [],
            ['close_owner'],
            `Deadlocked: ${out.message}`,
            { message: out.message },
          );
          return { state: 'deadlocked', reason: out.message };
        }
        continue;
      }
      // Rejected: the item is with its preparer until they resubmit.
      const k = inst.resubmitRemindersSent;
      const dueAt = resubmissionDueAt(round.closedAt!, k, timeoutMs);
      if (await changedBefore(inst, dueAt, `${inst.checkpointId} round ${round.round}: awaiting resubmission`))
        continue;
      const preparer = round.submission.preparerId;
      const rejecter = round.levels.find((l) => l.signature?.decision === 'rejected');
      if (!isLastResubmissionTimeout(k, resubmitTimeouts)) {
        inst.resubmitRemindersSent += 1;
        inst.version += 1;
        notify(
          inst,
          'resubmission_reminder',
          k + 1,
          [preparer],
          [],
          `Awaiting resubmission: ${inst.checkpointId} round ${round.round} was rejected; resubmit it with the fix`,
        );
        continue;
      }
      const reason =
        `rejected by ${rejecter?.signature ? describeSigner(rejecter.signature) : 'an approver'} at level ` +
        `${rejecter?.level ?? '?'} of round ${round.round}, and not resubmitted by ${preparer} within ` +
        formatDuration(resubmitTimeouts * timeoutMs);
      notify(
        inst,
        'not_resubmitted',
        0,
        [preparer, ...(owner ? [owner] : [])],
        ['close_owner'],
        `Not resubmitted: ${inst.checkpointId}: ${reason}`,
        {
          message: reason,
        },
      );
      return { state: 'rejected', reason };
    }
  }

  return drive;
}
