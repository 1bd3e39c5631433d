// Signals, queries and updates are defined once, here, with stable names: the CLI, approver apps, tests and the
// plain `temporal workflow signal --name approval` all refer to these names. Renaming one breaks running closes.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EvidenceRef } from '../domain/approval';
import type { ExceptionActionOutcome } from '../activities/exceptions';
import type { ApprovalsStatus, CloseCancelRequest, CloseStatus, TaskAction, TaskActionAnswer } from './types';

/**
 * An approval decision addressed to a checkpoint. It counts only with `token`: a compact JWS signed by the approval
 * gateway (or `finflow approve --key-file`), which carries the decision, the approver, the round and a nonce. The
 * other fields are the unsigned form, refused (and recorded as `unsigned`) unless the workflow was started with
 * allowUnsignedApprovals, for development only.
 */
export interface ApprovalSignal {
  checkpointId: string;
  token?: string;
  /** The round the sender believes is open: checked by submitApproval's validator; the token's round is what counts. */
  round?: number;
  decision?: 'approved' | 'rejected';
  approverId?: string;
  /** Claimed role: recorded, never trusted (roles come from the user directory). */
  role?: string;
  comments?: string;
  level?: number;
  onBehalfOf?: string;
  evidence?: EvidenceRef[];
  resolution?: string;
}

/** A resubmission after a rejection: `token` signed for the preparer; the other fields are the unsigned form. */
export interface ResubmitSignal {
  checkpointId: string;
  token?: string;
  /** The round the resubmission opens (the rejected round + 1). */
  round?: number;
  preparerId?: string;
  amount?: string;
  currency?: string;
  itemRef?: string;
  description?: string;
  evidence?: EvidenceRef[];
  resolution?: string;
}

/** What the workflow answers an approver app (submitApproval / submitResubmission updates). */
export interface ApprovalAnswer {
  accepted: boolean;
  checkpointId: string;
  round: number;
  /** level_signed: the next level is open; resubmitted: a new round is open. */
  outcome?: 'level_signed' | 'approved' | 'rejected' | 'resubmitted';
  /** Refusal code when not accepted (unsigned, wrong_role, over_limit, self_approval, replay, ...). */
  reason?: string;
  level?: number;
  message: string;
  /** The checkpoint's state after the decision. */
  state: string;
}

export const approvalSignal = defineSignal<[ApprovalSignal]>('approval');
export const resubmitSignal = defineSignal<[ResubmitSignal]>('resubmit');
/** The same as the approval signal, answered at once; its validator turns away a closed checkpoint or a stale round. */
export const submitApprovalUpdate = defineUpdate<ApprovalAnswer, [ApprovalSignal]>('submitApproval');
export const submitResubmissionUpdate = defineUpdate<ApprovalAnswer, [ResubmitSignal]>('submitResubmission');
export const statusQuery = defineQuery<CloseStatus>('status');
/** Every approval checkpoint of a workflow (a close or an approvalWorkflow). */
export const approvalsQuery = defineQuery<ApprovalsStatus>('approvals');

/**
 * A delegation of approval authority granted while the workflow runs (`finflow approval delegate`): `token` is
 * signed by the delegator (or an administrator) with their own key, for this workflow.
 */
export interface DelegationRequest {
  token: string;
}

/** What the workflow answers a delegation: whether it counts from now on, or why not. */
export interface DelegationAnswer {
  accepted: boolean;
  /** Refusal code when not accepted (delegation_loop, self_delegation, overlapping_window, unknown_person...). */
  reason?: string;
  message: string;
}

export const delegationSignal = defineSignal<[DelegationRequest]>('delegation');
/** The same as the delegation signal, answered at once. */
export const submitDelegationUpdate = defineUpdate<DelegationAnswer, [DelegationRequest]>('submitDelegation');

/**
 * A person's action on a close task (complete, rerun, waive, reassign, skip, add) or on the close (pause, resume).
 * Every action is written to the close's journal, refused ones too (with why).
 */
export const taskActionSignal = defineSignal<[TaskAction]>('taskAction');
/** The same, answered: its validator refuses an unknown task or an action the task's state does not allow. */
export const submitTaskActionUpdate = defineUpdate<TaskActionAnswer, [TaskAction]>('submitTaskAction');
/**
 * Who cancels the close and why, sent just before Temporal's cancellation request (which carries neither into the
 * workflow): the close journals them when the cancellation comes. Alone it cancels nothing.
 */
export const cancelRequestSignal = defineSignal<[CloseCancelRequest]>('cancelRequest');
/** The `submitExceptionAction` update's argument (workflows/close/exception-actions.ts handles it). */
export interface ExceptionActionRequest {
  /** The reconciliation task's id, or its reconciliation id. */
  task: string;
  /** The person's signed action (activities/approval/exception-action-token.ts). */
  token: string;
}

export type ExceptionActionAnswer = ExceptionActionOutcome;

/**
 * A person's signed action on a reconciliation's exceptions (explain, resolve, reopen, carry forward), through the
 * close that ran the reconciliation: verified, applied in the result store and the audit ledger, journaled.
 */
export const submitExceptionActionUpdate = defineUpdate<ExceptionActionAnswer, [ExceptionActionRequest]>(
  'submitExceptionAction',
);
