// The two rules a reconciliation's approval owes the people's work on its exceptions (issue 15), judged after the
// checkpoint's own rules (signature, nonce, directory roles, limits, evidence) would accept the decision:
// - segregation of duties: whoever explained or resolved exceptions of a reconciliation the checkpoint approves
//   may not approve it, neither in their own name nor as the one a delegate signs for;
// - certification: while exceptions above the checkpoint's `exception_materiality` remain unexplained on those
//   reconciliations, no approval counts; the refusal says how many, their total and which. A checkpoint with
//   `certification_required` also waits for each reconciliation's preparer to certify it complete (signed; a later
//   action on its exceptions supersedes the certification, domain/exceptions/certification.ts), and whoever
//   certified it may not approve it either.
// A refusal here is recorded exactly as evaluateDecision records its own (audit entry, nonce burnt). Pure: who
// worked what and the materiality results come from the caller (the close's journal and the result store).
import { certificationMissing, type CertificationStatus } from '../exceptions/certification';
import { certificationRefusal, segregationRefusal, type ExceptionActionName } from '../exceptions/lifecycle';
import type { MaterialityResult } from '../exceptions/materiality';
import type { DecisionAttempt } from './decision';
import { currentRound, type CheckpointState, type DecisionResult, type RefusalCode } from './rules';

export interface ExceptionWork {
  by: string;
  /** `certify`: the preparer's certification of the whole reconciliation. */
  action: ExceptionActionName | 'certify';
  /** What was worked: the reconciliation id when the journal names no items. */
  itemIds: readonly string[];
}

export interface GateReconciliation {
  reconId: string;
  /** The reconciliation has not produced its exceptions yet: its state, said in the refusal. */
  pending?: string;
  /** Its unexplained exceptions above the checkpoint's materiality (absent when certification is not asked). */
  material?: MaterialityResult;
  /** Whether its preparer's certification stands (absent when the checkpoint does not require one). */
  certified?: CertificationStatus;
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
  reason: Extract<RefusalCode, 'explainer_approval' | 'exceptions_unexplained' | 'not_certified'>;
  message: string;
}

/** The first rule the approval breaks (segregation of duties before certification), or nothing. */
export function exceptionGateRefusal(input: ExceptionGateInput): GateRefusal | undefined {
  for (const signer of new Set(input.signers))
    for (const r of input.worked) {
      const certified = r.work.filter((w) => w.by === signer && w.action === 'certify');
      if (certified.length)
        return {
          reason: 'explainer_approval',
          message:
            `${signer} certified reconciliation ${r.reconId} (${certified.flatMap((w) => w.itemIds).join(', ')}) ` +
            'and may not approve it (segregation of duties)',
        };
      const refusal = segregationRefusal(
        signer,
        r.work.filter((w): w is ExceptionWork & { action: ExceptionActionName } => w.action !== 'certify'),
      );
      if (refusal)
        return {
          reason: 'explainer_approval',
          message: `${refusal.replace('this reconciliation', `reconciliation ${r.reconId}`)} (segregation of duties)`,
        };
    }
  if (!input.certification) return undefined;
  const parts: string[] = [];
  let count = 0;
  let uncertified = 0;
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
    const missing = r.certified ? certificationMissing(r.reconId, r.certified) : undefined;
    if (missing) {
      uncertified += 1;
      parts.push(missing);
    }
  }
  if (!parts.length) return undefined;
  const head = count
    ? `checkpoint ${input.checkpointId} refuses approval: ${count} unexplained exception(s) above materiality remain`
    : uncertified
      ? `checkpoint ${input.checkpointId} refuses approval: ${uncertified} reconciliation(s) not certified by their preparer`
      : `checkpoint ${input.checkpointId} refuses approval`;
  const reason = !count && uncertified === parts.length ? 'not_certified' : 'exceptions_unexplained';
  return { reason, message: `${head}; ${parts.join('; ')}` };
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
