// Decisions on an approval checkpoint: the `approval` signal and the `submitApproval` update (whose validator
// answers at once what the checkpoint is not waiting for). A signed token is verified by a local activity and the
// attempt judged by evaluateDecision (domain/approval/rules.ts); an unsigned one counts only in development mode.
// Every attempt lands in the checkpoint's audit trail, or, for a checkpoint the workflow does not have, in unrouted.
import { patched, uuid4, workflowInfo } from '@temporalio/workflow';
import {
  attemptFromVerification,
  currentRound,
  evaluateDecision,
  findCheckpoint,
  findRole,
  findUser,
  refuseDecision,
  type ApprovalPolicy,
  type ApprovalVerification,
  type CheckpointState,
  type DecisionAttempt,
  type GateRefusal,
} from '../../domain/approval';
import type { ApprovalAnswer, ApprovalSignal } from '../definitions';
import { exceptionGate } from './exception-gate';
import { answer, verify, type CheckpointHost } from './host';
import {
  causeMessage,
  MAX_REFUSALS_KEPT,
  MAX_UNROUTED,
  parseEvidence,
  refusal,
  str,
  UNSIGNED_KID,
  UNSIGNED_NONCE,
  UNSIGNED_REFUSED,
  type Instance,
} from './instance';

export function createDecisions(host: CheckpointHost): {
  handleApproval(s: ApprovalSignal): Promise<ApprovalAnswer>;
  validateApproval(s: ApprovalSignal): void;
} {
  const { now, allowUnsigned, owner, unrouted, find, newInstance } = host;
  const { notify, requestApprovers, itemText } = host.notifier;

  function unsignedAttempt(s: ApprovalSignal, st: CheckpointState | undefined): DecisionAttempt | string {
    if (s.decision !== 'approved' && s.decision !== 'rejected')
      return `decision must be "approved" or "rejected", got ${JSON.stringify(s.decision)}`;
    if (!str(s.approverId)) return 'approverId is required';
    return {
      signature: { status: 'verified', kid: UNSIGNED_KID },
      checkpointId: s.checkpointId,
      round: typeof s.round === 'number' ? s.round : st ? currentRound(st).round : 1,
      ...(typeof s.level === 'number' ? { level: s.level } : {}),
      decision: s.decision,
      approverId: s.approverId!,
      ...(str(s.onBehalfOf) ? { onBehalfOf: s.onBehalfOf } : {}),
      rolesClaimed: str(s.role) ? [s.role!] : [],
      ...(typeof s.comments === 'string' ? { comments: s.comments } : {}),
      evidence: parseEvidence(s.evidence),
      ...(typeof s.resolution === 'string' ? { resolution: s.resolution } : {}),
      nonce: `${UNSIGNED_NONCE}${uuid4()}`,
    };
  }

  function failedAttempt(s: ApprovalSignal, message: string): DecisionAttempt {
    return attemptFromVerification(
      {
        ok: false,
        reason: 'malformed',
        message,
        untrusted: { approverId: s.approverId, checkpointId: s.checkpointId, round: s.round, decision: s.decision },
      },
      { checkpointId: s.checkpointId },
    );
  }

  /** A legacy checkpoint has no directory: the claimed approver is added with the claimed role, for this attempt only. */
  function policyFor(inst: Instance, attempt: DecisionAttempt): ApprovalPolicy {
    const pol = inst.policy!;
    if (!inst.legacy || findUser(pol, attempt.approverId)) return pol;
    const role = attempt.rolesClaimed[0];
    return {
      ...pol,
      users: [...pol.users, { userId: attempt.approverId, roles: role && findRole(pol, role) ? [role] : [] }],
    };
  }

  /**
   * The identity provider's proofs that counted, by token id, with the nonce of the decision each counted for
   * (issue 18): a proof backs one decision only, so a gateway holding a person's token cannot sign a second one.
   */
  const proofsUsed = new Map<string, string>();

  /**
   * A verified gateway decision takes its proof for itself, at once (before any other handler can), whatever the
   * rules then say; one whose proof already backed another decision is refused (and recorded as such). The same
   * decision sent twice (an update retried, a signal after an update) keeps its nonce and meets the rules' replay check.
   */
  function proofReused(v: ApprovalVerification): ApprovalVerification {
    const proof = v.ok ? v.claims.identityProof : undefined;
    if (!v.ok || !proof) return v;
    const earlier = proofsUsed.get(proof.tokenId);
    if (earlier === undefined) proofsUsed.set(proof.tokenId, v.claims.nonce);
    if (earlier === undefined || earlier === v.claims.nonce) return v;
    const c = v.claims;
    return {
      ok: false,
      reason: 'identity_proof_reused',
      message:
        `the identity provider's token for ${c.approverId} (${proof.tokenId}) already backed decision ${earlier}: ` +
        `one proof counts for one decision (sign in again for each decision)`,
      untrusted: {
        approverId: c.approverId,
        nonce: c.nonce,
        checkpointId: c.checkpointId,
        round: c.round,
        decision: c.decision,
      },
    };
  }

  async function attemptOf(s: ApprovalSignal, inst: Instance | undefined): Promise<DecisionAttempt> {
    if (typeof s.token === 'string') {
      let v: ApprovalVerification;
      // Since this patch a gateway's decision counts only with the identity provider's proof of its approver.
      const proven = patched('gateway-identity-proof');
      try {
        v = await verify.verifyApprovalSignal({
          token: s.token,
          workflowId: workflowInfo().workflowId,
          at: now(),
          ...(proven ? { requireIdentityProof: true } : {}),
        });
      } catch (err) {
        v = { ok: false, reason: 'malformed', message: `the signature could not be checked: ${causeMessage(err)}` };
      }
      return attemptFromVerification(proven ? proofReused(v) : v, { checkpointId: s.checkpointId });
    }
    if (!allowUnsigned) return failedAttempt(s, UNSIGNED_REFUSED);
    const a = unsignedAttempt(s, inst?.state);
    return typeof a === 'string' ? failedAttempt(s, a) : a;
  }

  function refusedBeforeOpen(
    inst: Instance | undefined,
    checkpointId: string,
    attempt: DecisionAttempt,
  ): ApprovalAnswer {
    const message = inst
      ? `checkpoint ${checkpointId} has not opened yet in this workflow`
      : `no checkpoint ${checkpointId} in this workflow`;
    const reason = attempt.signature.status === 'failed' ? 'unsigned' : 'checkpoint_not_open';
    const text = attempt.signature.status === 'failed' ? `${attempt.signature.message}; ${message}` : message;
    const at = now();
    if (inst) {
      if (inst.preOpen.length < MAX_REFUSALS_KEPT)
        inst.preOpen.push({
          at,
          round: 0,
          event: 'decision',
          actor: attempt.approverId,
          decision: attempt.decision,
          ...(attempt.nonce ? { nonce: attempt.nonce } : {}),
          outcome: 'refused',
          reason,
          message: text,
        });
      else inst.refusalsNotKept += 1;
      inst.version += 1;
    } else if (unrouted.length < MAX_UNROUTED)
      unrouted.push({ at, checkpointId: String(checkpointId), approverId: attempt.approverId, reason, message: text });
    return answer(inst, { accepted: false, reason, message: text }, checkpointId);
  }

  const toLedger = host.ledger.recorder('decision');

  /** Judges the attempt, keeps it in the checkpoint's trail, then records it in the audit ledger. */
  async function handleApproval(s: ApprovalSignal): Promise<ApprovalAnswer> {
    const checkpointId = str(s?.checkpointId) ?? '';
    const signal: ApprovalSignal = { ...s, checkpointId };
    const attempt = await attemptOf(signal, find(checkpointId));
    const a = judge(checkpointId, attempt, await gateRefusal(checkpointId, attempt));
    const sig = attempt.signature;
    await toLedger(
      {
        checkpointId,
        at: now(),
        by: attempt.approverId,
        signature: sig.status === 'failed' ? 'failed' : sig.kid === UNSIGNED_KID ? 'unsigned' : 'verified',
        ...(sig.status === 'verified' && sig.kid !== UNSIGNED_KID ? { kid: sig.kid } : {}),
        ...(attempt.nonce && !attempt.nonce.startsWith(UNSIGNED_NONCE) ? { nonce: attempt.nonce } : {}),
        decision: attempt.decision,
        ...(attempt.round ? { round: attempt.round } : {}),
        ...(attempt.level !== undefined ? { level: attempt.level } : {}),
        ...(attempt.onBehalfOf ? { onBehalfOf: attempt.onBehalfOf } : {}),
      },
      a,
    );
    return a;
  }

  /**
   * An approval the checkpoint's rules would accept, of a checkpoint approving reconciliations, must also pass the
   * exception gate (./exception-gate.ts): refused while its signer worked their exceptions or material ones remain
   * unexplained. Judged here, in the handler, so the refusal is recorded under the verified identity.
   */
  async function gateRefusal(checkpointId: string, attempt: DecisionAttempt): Promise<GateRefusal | undefined> {
    if (attempt.decision !== 'approved' || attempt.signature.status !== 'verified') return undefined;
    const inst = find(checkpointId);
    const source = host.exceptionGate?.(checkpointId);
    if (!source || !inst?.state || !inst.policy || inst.legacy) return undefined;
    const dry = evaluateDecision(policyFor(inst, attempt), inst.state, attempt, now());
    if (!dry.accepted) return undefined;
    const signers = [attempt.approverId, ...(dry.signature.onBehalfOf ? [dry.signature.onBehalfOf] : [])];
    const cp = findCheckpoint(inst.policy, checkpointId);
    return exceptionGate(checkpointId, source, cp?.exception_materiality, signers, cp?.certification_required);
  }

  function judge(checkpointId: string, attempt: DecisionAttempt, gated?: GateRefusal): ApprovalAnswer {
    let inst = find(checkpointId);
    const policy = host.policy();
    if (!inst && policy && findCheckpoint(policy, checkpointId)) inst = newInstance(checkpointId);
    if (!inst?.state) return refusedBeforeOpen(inst, checkpointId, attempt);

    // Decisions are applied one at a time (checkpoints.ts, serially), but a timer may have closed the checkpoint
    // while the gate read the store: then the checkpoint's own refusal says so.
    const r =
      gated && inst.state.status === 'open'
        ? refuseDecision(inst.state, attempt, now(), gated)
        : evaluateDecision(policyFor(inst, attempt), inst.state, attempt, now());
    inst.state = r.newState;
    if (!r.accepted) {
      const refused = inst.state.audit.filter((e) => e.outcome === 'refused').length;
      if (refused > MAX_REFUSALS_KEPT) {
        inst.state.audit.pop();
        inst.refusalsNotKept += 1;
      }
    }
    inst.version += 1;
    if (r.accepted) {
      const st = inst.state;
      const round = currentRound(st);
      if (r.outcome === 'level_signed') requestApprovers(inst);
      else
        notify(
          inst,
          r.outcome,
          r.level,
          [round.submission.preparerId, ...(r.outcome === 'approved' && owner ? [owner] : [])],
          [],
          r.outcome === 'approved'
            ? `Approved: ${inst.checkpointId} round ${round.round}: ${itemText(st)}`
            : `Rejected: ${inst.checkpointId} round ${round.round} at level ${r.level}: ${itemText(st)}; resubmit it with the fix`,
          { level: r.level, message: r.message },
        );
      return answer(inst, { accepted: true, outcome: r.outcome, level: r.level, message: r.message }, checkpointId);
    }
    return answer(inst, { accepted: false, reason: r.reason, message: r.message }, checkpointId);
  }

  function validateApproval(s: ApprovalSignal): void {
    if (!s || typeof s !== 'object' || typeof s.checkpointId !== 'string')
      throw refusal('malformed', 'an approval names its checkpointId and carries a token');
    const inst = find(s.checkpointId);
    if (!inst?.state) throw refusal('checkpoint_not_open', `checkpoint ${s.checkpointId} is not open in this workflow`);
    const round = currentRound(inst.state);
    if (inst.phase === 'closed' || inst.state.status !== 'open')
      throw refusal(
        'checkpoint_not_open',
        `checkpoint ${s.checkpointId} round ${round.round} is ${inst.state.status}${inst.phase === 'closed' ? ' (closed)' : ''}`,
      );
    if (s.round !== undefined && s.round !== round.round)
      throw refusal(
        'checkpoint_not_open',
        `the approval is for round ${String(s.round)}, but round ${round.round} is open`,
      );
  }

  return { handleApproval, validateApproval };
}
