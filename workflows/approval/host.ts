// What the parts of an approval checkpoint host share: the workflow's clock and settings, its checkpoints, the
// decisions it could not route, its notifier, and the local activity that verifies signed tokens.
import { proxyLocalActivities } from '@temporalio/workflow';
import type { ApprovalActivities } from '../../activities/approval';
import { currentRound, type ApprovalPolicy } from '../../domain/approval';
import type { ApprovalAnswer } from '../definitions';
import type { ApprovalsStatus } from '../types';
import type { ExceptionGateSource } from './exception-gate';
import type { Instance } from './instance';
import type { LedgerTrail } from './ledger';
import type { Notifier } from './notifications';

export interface CheckpointHost {
  /** The workflow clock (ISO). */
  now: () => string;
  /** DEVELOPMENT ONLY: unsigned approvals and resubmissions count (identity claimed). */
  allowUnsigned: boolean;
  /** The close owner, told about deadlocks and items not resubmitted. */
  owner: string | undefined;
  /** The workflow's approval policy as it stands (waivers of added tasks add checkpoints to it). */
  policy(): ApprovalPolicy | undefined;
  find(checkpointId: string): Instance | undefined;
  newInstance(checkpointId: string): Instance;
  /** Decisions and resubmissions for checkpoints this workflow does not have. */
  unrouted: ApprovalsStatus['unrouted'];
  notifier: Notifier;
  /** Judged attempts on their way to the audit ledger. */
  ledger: LedgerTrail;
  /** The reconciliations a checkpoint approves and who worked their exceptions (the close); none: no gate. */
  exceptionGate?: (checkpointId: string) => ExceptionGateSource | undefined;
}

// Verification reads only the worker's key set: a local activity answers within the workflow task that handles
// the signal, which is what keeps signal-to-decision latency low. Three attempts ride out a worker hiccup; an
// error past them is an outage, and the attempt is refused with that said (the approver sends it again).
export const verify = proxyLocalActivities<ApprovalActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});

export function answer(
  inst: Instance | undefined,
  fields: Omit<ApprovalAnswer, 'round' | 'state' | 'checkpointId'>,
  checkpointId: string,
): ApprovalAnswer {
  return {
    checkpointId,
    round: inst?.state ? currentRound(inst.state).round : 0,
    state: inst?.state ? inst.state.status : 'pending',
    ...fields,
  };
}
