// The two rules a reconciliation's approval owes the people's work on its exceptions (issue 15), judged after the
// checkpoint's own rules (signature, nonce, directory roles, limits, evidence) would accept the decision:
// - segregation of duties: whoever explained or resolved exceptions of a reconciliation the checkpoint approves
//   may not approve it, neither in their own name nor as the one a delegate signs for;
// - certification: while exceptions above the checkpoint's `exception_materiality` remain unexplained on those
//   reconciliations, no approval counts; the refusal says how many, their total and which.
// A refusal here is recorded exactly as evaluateDecision records its own (audit entry, nonce burnt). Pure: who
// worked what and the materiality results come from the caller (the close's journal and the result store).
import { certificationRefusal, segregationRefusal, type ExceptionActionName } from '../exceptions/lifecycle';
import type { MaterialityResult } from '../exceptions/materiality';
import type { DecisionAttempt } from './decision';
import { currentRound, type CheckpointState, type DecisionResult, type RefusalCode } from './rules';

export interface ExceptionWork {
  by: string;
  action: ExceptionActionName;
  /** What was worked: the reconciliation id when the journal names no items. */
  itemIds: readonly string[];
}

export interface GateReconciliation {
  reconId: string;
  /** The reconciliation has not produced its exceptions yet: its state, said in the refusal. */
  pending?: string;
  /** Its unexplained exceptions above the checkpoint's materiality (absent when certification is not asked). */
  material?: MaterialityResult;
}

export interface ExceptionGateInput {
  checkpointId: string;
  /** The approver and, for a delegate, the person they sign for. */
  signers: readonly string[];
  /** Per reconciliation the checkpoint approves: who explained or resolved its exceptions. */
  worked: readonly { reconId: string; work: readonly ExceptionWork[] }[];
  /** Present when the checkpoint asks for certification (exception_materiality). */
  certification?: readonly GateReconciliation[];
}

export interface GateRefusal {
  reason: Extract<RefusalCode, 'explainer_approval' | 'exceptions_unexplained'>;
  message: string;
}

/** The first rule the approval breaks (segregation of duties before certification), or nothing. */
export function exceptionGateRefusal(input: ExceptionGateInput): GateRefusal | undefined {
  for (const signer of new Set(input.signers))
    for (const r of input.worked) {
      const refusal = segregationRefusal(signer, r.work);
      if (refusal)
        return {
          reason: 'explainer_approval',
          message: `${refusal.replace('this reconciliation', `reconciliation ${r.reconId}`)} (segregation of duties)`,
        };
    }
  if (!input.certification) return undefined;
  const parts: string[] = [];
  let count = 0;
  for (const r of input.certification) {
    if (r.pending !== undefined) {
      parts.push(`reconciliation ${r.reconId} has no exceptions to certify yet (${r.pending})`);
      continue;
    }
    const refusal = r.material ? certificationRefusal(r.reconId, r.material) : undefined;
    if (refusal) {
      count += (r.material as MaterialityResult).count;
      parts.push(refusal);
    }
  }
  if (!parts.length) return undefined;
  const head = count
    ? `checkpoint ${input.checkpointId} refuses approval: ${count} unexplained exception(s) above materiality remain`
    : `checkpoint ${input.checkpointId} refuses approval`;
  return { reason: 'exceptions_unexplained', message: `${head}; ${parts.join('; ')}` };
}

/**
 * The checkpoint's state after refusing `attempt` for `refusal`, as evaluateDecision records its own refusals:
 * the attempt in the audit trail with who and why, and a verified nonce remembered so the token counts once.
 */
export function refuseDecision(
  state: CheckpointState,
  attempt: DecisionAttempt,
  nowIso: string,
  refusal: GateRefusal,
): DecisionResult {
  const next = JSON.parse(JSON.stringify(state)) as CheckpointState;
  const round = currentRound(next).round;
  if (attempt.signature.status === 'verified' && !next.nonces.some((n) => n.nonce === attempt.nonce))
    next.nonces.push({ nonce: attempt.nonce, round, approverId: attempt.approverId, accepted: false });
  next.audit.push({
    at: nowIso,
    round,
    event: 'decision',
    actor: attempt.approverId,
    decision: attempt.decision,
    ...(attempt.onBehalfOf ? { onBehalfOf: attempt.onBehalfOf } : {}),
    ...(attempt.level !== undefined ? { level: attempt.level } : {}),
    ...(attempt.nonce ? { nonce: attempt.nonce } : {}),
    outcome: 'refused',
    reason: refusal.reason,
    message: refusal.message,
  });
  return { accepted: false, reason: refusal.reason, message: refusal.message, newState: next };
}
