// Approval checkpoints of a close, hosted inside the close workflow: approvals arrive as the `approval` signal
// addressed to the close, and escalation runs on durable timers. The close orchestration talks to this module
// only through `createCheckpoints()`: install() once, run() per approval task, statuses() for the status query.
import type { Duration } from '@temporalio/common';
import { condition, setHandler } from '@temporalio/workflow';
import { approvalSignal, type ApprovalSignal } from '../definitions';
import type { ApprovalTaskConfig, CheckpointStatus } from '../types';

export interface CheckpointOutcome {
  state: 'approved' | 'rejected' | 'deadlocked';
  /** Why the task cannot go on, for the close's blockers (absent when approved). */
  reason?: string;
}

export interface Checkpoints {
  /** Registers the signal handlers; call once, at the start of the workflow. */
  install(): void;
  /** Opens a checkpoint and waits for its outcome, escalating on timeouts. */
  run(config: ApprovalTaskConfig): Promise<CheckpointOutcome>;
  statuses(): CheckpointStatus[];
}

export function createCheckpoints(now: () => string = () => new Date().toISOString()): Checkpoints {
  const checkpoints: CheckpointStatus[] = [];

  function onApproval(signal: ApprovalSignal): void {
    const cp = checkpoints.find((c) => c.checkpointId === signal.checkpointId);
    const refuse = (reason: string): void => {
      // A signal for an unknown checkpoint has no trail of its own to land in; it is still in history.
      cp?.refusals.push({ at: now(), approverId: signal.approverId, role: signal.role, reason });
    };
    if (!cp || cp.state !== 'open') return refuse('checkpoint is not open');
    if (!cp.allowedRoles.includes(signal.role)) return refuse(`role ${signal.role} may not approve at this level`);
    cp.decisions.push({ at: now(), ...signal });
    cp.state = signal.decision === 'approved' ? 'approved' : 'rejected';
  }

  return {
    install() {
      setHandler(approvalSignal, onApproval);
    },
    statuses: () => checkpoints,
    async run(config) {
      const ladder = [config.role, ...config.escalation.path];
      const cp: CheckpointStatus = {
        checkpointId: config.checkpointId,
        state: 'open',
        allowedRoles: [config.role],
        escalations: [],
        decisions: [],
        refusals: [],
      };
      checkpoints.push(cp);
      for (let level = 1; ; level++) {
        // The escalation timer is a durable server-side timer: it survives worker restarts and is what the
        // time-skipping test server fast-forwards.
        const decided = await condition(() => cp.state !== 'open', config.escalation.timeout as Duration);
        if (decided) break;
        if (level >= ladder.length) {
          cp.state = 'deadlocked';
          break;
        }
        cp.allowedRoles.push(ladder[level]);
        cp.escalations.push({ at: now(), toRole: ladder[level] });
      }
      if (cp.state === 'approved') return { state: 'approved' };
      if (cp.state === 'deadlocked')
        return { state: 'deadlocked', reason: `no decision after escalating to ${ladder.join(' -> ')}` };
      return { state: 'rejected', reason: `rejected by ${cp.decisions[cp.decisions.length - 1]?.approverId}` };
    },
  };
}
