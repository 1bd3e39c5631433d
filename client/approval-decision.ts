// Sends a person's approval decision to a close or approval workflow: the one module the CLI (`finflow approve`)
// and the library (`execution.submitApproval`) share. A decision counts only when signed by a key the workers trust
// (activities/approval/signing.ts); without a key it goes unsigned and the workflow refuses it unless the close
// allows unsigned approvals (development only).
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../activities/approval/keys';
import { signApprovalDecision, type ApprovalSigningKey } from '../activities/approval/signing';
import type { EvidenceRef } from '../domain/approval';
import {
  approvalSignal,
  approvalsQuery,
  resubmitSignal,
  submitResubmissionUpdate,
  type submitApprovalUpdate,
  type ApprovalAnswer,
  type ApprovalSignal,
  type ResubmitSignal,
} from '../workflows/definitions';
import type { CheckpointStatus } from '../workflows/types';

export interface ApprovalDecisionRequest {
  checkpointId: string;
  /** The approver (a userId of the policy's directory). */
  approverId: string;
  decision: 'approved' | 'rejected';
  comments?: string;
  evidence?: EvidenceRef[];
  resolution?: string;
  /** Default: the checkpoint's open round (asked of the workflow). */
  round?: number;
  level?: number;
  onBehalfOf?: string;
  /** The approver's directory roles, recorded in a signed token. */
  roles?: string[];
  /** Unsigned only: the role claimed (recorded, never trusted). */
  claimedRole?: string;
  ttlSeconds?: number;
}

/** The checkpoint's status as the workflow reports it; throws naming the checkpoints it has when it has not this one. */
export async function checkpointOf(
  client: Client,
  workflowId: string,
  checkpointId: string,
): Promise<CheckpointStatus> {
  const s = await client.workflow.getHandle(workflowId).query(approvalsQuery);
  const cp = s.checkpoints.find((c) => c.checkpointId === checkpointId);
  if (!cp)
    throw new Error(
      `${workflowId} has no checkpoint ${checkpointId} open (it has ${s.checkpoints.map((c) => c.checkpointId).join(', ') || 'none yet'})`,
    );
  return cp;
}

/** The approval signal for a decision: a token signed with `key`, or the decision unsigned without one. */
export async function approvalDecisionPayload(
  client: Client | undefined,
  workflowId: string,
  r: ApprovalDecisionRequest,
  key: ApprovalSigningKey | undefined,
): Promise<ApprovalSignal> {
  const round =
    r.round ??
    (client ? ((await checkpointOf(client, workflowId, r.checkpointId)).round ?? 1) : undefined) ??
    (() => {
      throw new Error('the round is needed to sign without asking the workflow');
    })();
  const evidence = r.evidence ?? [];
  if (!key)
    return {
      checkpointId: r.checkpointId,
      round,
      decision: r.decision,
      approverId: r.approverId,
      ...(r.claimedRole ? { role: r.claimedRole } : {}),
      ...(r.level ? { level: r.level } : {}),
      ...(r.onBehalfOf ? { onBehalfOf: r.onBehalfOf } : {}),
      ...(r.comments !== undefined ? { comments: r.comments } : {}),
      ...(evidence.length ? { evidence } : {}),
      ...(r.resolution !== undefined ? { resolution: r.resolution } : {}),
    };
  const { token } = await signApprovalDecision(
    {
      workflowId,
      checkpointId: r.checkpointId,
      round,
      ...(r.level ? { level: r.level } : {}),
      decision: r.decision,
      approverId: r.approverId,
      ...(r.onBehalfOf ? { onBehalfOf: r.onBehalfOf } : {}),
      roles: r.roles ?? [],
      ...(r.comments !== undefined ? { comments: r.comments } : {}),
      evidence,
      ...(r.resolution !== undefined ? { resolution: r.resolution } : {}),
    },
    key,
    { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, ttlSeconds: r.ttlSeconds },
  );
  return { checkpointId: r.checkpointId, round, token };
}

/**
 * Sends through the update and returns the workflow's answer. A validator refusal (a closed checkpoint, a stale
 * round) never reaches history by the update, so the same signed payload goes again as the signal, whose handler
 * records the refused attempt in the checkpoint's trail: the CLI, the library and the gateway all leave that record.
 */
export async function sendApprovalUpdate<A extends ApprovalSignal | ResubmitSignal>(
  client: Client,
  workflowId: string,
  update: typeof submitApprovalUpdate | typeof submitResubmissionUpdate,
  payload: A,
): Promise<ApprovalAnswer> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    return await handle.executeUpdate(update as typeof submitApprovalUpdate, { args: [payload as ApprovalSignal] });
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    const signal = update.name === submitResubmissionUpdate.name ? resubmitSignal : approvalSignal;
    await handle.signal(signal as typeof approvalSignal, payload as ApprovalSignal);
    return refusedAnswer(err, payload);
  }
}

/** The validator's refusal as the answer the workflow would have given. */
export function refusedAnswer(
  err: WorkflowUpdateFailedError,
  payload: { checkpointId: string; round?: number },
): ApprovalAnswer {
  const cause = err.cause as { message?: string; details?: { reason?: string }[] } | undefined;
  return {
    accepted: false,
    checkpointId: payload.checkpointId,
    round: payload.round ?? 0,
    reason: cause?.details?.[0]?.reason ?? 'refused',
    message: cause?.message ?? err.message,
    state: 'unknown',
  };
}
