// A rejected item goes back to its preparer, who fixes and resubmits it: a new round. The rules of that exchange,
// pure, for the checkpoint host (workflows/approval/checkpoints.ts) and its status:
// - the resubmission window: the preparer gets as many timeouts as the approvers got (one per escalation step plus
//   the first), a reminder at the end of each but the last, and the task blocks at the end of the last;
// - which resubmissions count: for this checkpoint, once per signed nonce, from the preparer of the item, only for a
//   rejected round, opening exactly the next round;
// - what the new round holds: the claims over the previous submission, with all earlier evidence kept attached.
import type { EvidenceRef } from './decision';
import { currentRound, type CheckpointState, type SubmissionInput } from './rules';

export interface ResubmissionRefusal {
  reason: 'checkpoint_not_open' | 'replay' | 'not_preparer' | 'not_resubmittable' | 'round_mismatch';
  message: string;
}

/** What a verified resubmission says (the token's claims, or the fields of an unsigned one in development). */
export interface ResubmissionClaimsInput {
  checkpointId: string;
  round: number;
  preparerId: string;
  nonce: string;
  amount?: string;
  currency?: string;
  itemRef?: string;
  description?: string;
  evidence: EvidenceRef[];
  resolution?: string;
}

/** How many timeouts the preparer gets to resubmit: as many as the approvers got to decide. */
export function resubmissionTimeouts(escalationPath: readonly string[]): number {
  return escalationPath.length + 1;
}

/** When the preparer's next timeout after a rejection falls, with `remindersSent` reminders already sent. */
export function resubmissionDueAt(rejectedAt: string, remindersSent: number, timeoutMs: number): string {
  return new Date(Date.parse(rejectedAt) + (remindersSent + 1) * timeoutMs).toISOString();
}

/** Whether the next timeout is the last: at its end the item counts as not resubmitted and the task blocks. */
export function isLastResubmissionTimeout(remindersSent: number, timeouts: number): boolean {
  return remindersSent + 1 >= timeouts;
}

/** Refusals that do not depend on who sent it: another checkpoint's token, or a nonce already used. */
export function resubmissionTargetProblem(
  checkpointId: string,
  claims: Pick<ResubmissionClaimsInput, 'checkpointId' | 'nonce'>,
  state: CheckpointState,
  usedNonces: readonly string[],
): ResubmissionRefusal | undefined {
  if (claims.checkpointId !== checkpointId)
    return {
      reason: 'checkpoint_not_open',
      message: `the resubmission is for checkpoint ${claims.checkpointId}, not ${checkpointId}`,
    };
  if (usedNonces.includes(claims.nonce) || state.nonces.some((n) => n.nonce === claims.nonce))
    return { reason: 'replay', message: `nonce ${claims.nonce} was already used; a signed resubmission counts once` };
  return undefined;
}

/** Whether the checkpoint takes a resubmission opening `round` (any round when undefined): only a rejected one does. */
export function resubmittableProblem(
  checkpointId: string,
  state: CheckpointState,
  round: number | undefined,
): ResubmissionRefusal | undefined {
  const current = currentRound(state).round;
  if (state.status !== 'rejected')
    return {
      reason: 'not_resubmittable',
      message: `checkpoint ${checkpointId} round ${current} is ${state.status}; only a rejected round can be resubmitted`,
    };
  if (round !== undefined && round !== current + 1)
    return {
      reason: 'round_mismatch',
      message: `the resubmission opens round ${String(round)}, but the next round is ${current + 1}`,
    };
  return undefined;
}

/** Refusals about the sender and the round: only the item's preparer resubmits, and only the next round. */
export function resubmissionRoundProblem(
  checkpointId: string,
  claims: Pick<ResubmissionClaimsInput, 'preparerId' | 'round'>,
  state: CheckpointState,
): ResubmissionRefusal | undefined {
  const preparer = state.rounds[0].submission.preparerId;
  if (claims.preparerId !== preparer)
    return {
      reason: 'not_preparer',
      message: `only ${preparer}, who prepared the item, may resubmit it (not ${claims.preparerId})`,
    };
  return resubmittableProblem(checkpointId, state, claims.round);
}

/** The new round's submission: what the resubmission says, else what the last round had; every earlier evidence kept. */
export function resubmittedSubmission(previous: SubmissionInput, claims: ResubmissionClaimsInput): SubmissionInput {
  const prevEvidence = previous.evidence ?? [];
  // Through JSON: fields left undefined disappear, as they would crossing a payload.
  return JSON.parse(
    JSON.stringify({
      preparerId: claims.preparerId,
      amount: claims.amount ?? previous.amount,
      currency: claims.currency ?? previous.currency,
      itemRef: claims.itemRef ?? previous.itemRef,
      description: claims.description ?? previous.description,
      evidence: [
        ...prevEvidence,
        ...claims.evidence.filter((e) => !prevEvidence.some((p) => p.ref === e.ref && p.kind === e.kind)),
      ],
      resolution: claims.resolution ?? previous.resolution,
    }),
  ) as SubmissionInput;
}
