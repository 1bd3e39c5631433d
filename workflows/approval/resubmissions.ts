// Resubmissions of a rejected item by its preparer: the `resubmit` signal and the `submitResubmission` update. A
// signed token is verified by a local activity; the rules of which ones count and what the new round holds are in
// domain/approval/resubmission.ts. Every attempt lands in the checkpoint's resubmission log (or in unrouted).
import { uuid4, workflowInfo } from '@temporalio/workflow';
import type { ResubmissionVerification } from '../../activities/approval';
import {
  currentRound,
  resubmissionRoundProblem,
  resubmissionTargetProblem,
  resubmit,
  resubmittableProblem,
  resubmittedSubmission,
  UNKNOWN_APPROVER,
} from '../../domain/approval';
import type { ApprovalAnswer, ResubmitSignal } from '../definitions';
import { answer, verify, type CheckpointHost } from './host';
import {
  causeMessage,
  MAX_RESUBMISSION_LOG,
  MAX_UNROUTED,
  parseEvidence,
  refusal,
  str,
  UNSIGNED_KID,
  UNSIGNED_NONCE,
  UNSIGNED_REFUSED,
} from './instance';

export function createResubmissions(host: CheckpointHost): {
  handleResubmit(s: ResubmitSignal): Promise<ApprovalAnswer>;
  validateResubmission(s: ResubmitSignal): void;
} {
  const { now, allowUnsigned, unrouted, find } = host;
  const { requestApprovers } = host.notifier;

  const toLedger = host.ledger.recorder('resubmission');

  /** Judges the resubmission, keeps it in the checkpoint's log, then records it in the audit ledger. */
  async function handleResubmit(s: ResubmitSignal): Promise<ApprovalAnswer> {
    const checkpointId = str(s?.checkpointId) ?? '';
    const v = await verificationOf(s, checkpointId);
    const a = judge(s, checkpointId, v);
    const unsigned = v.ok && v.claims.kid === UNSIGNED_KID;
    await toLedger(
      {
        checkpointId,
        at: now(),
        by: v.ok ? v.claims.preparerId : (v.preparerId ?? str(s.preparerId) ?? UNKNOWN_APPROVER),
        signature: !v.ok ? 'failed' : unsigned ? 'unsigned' : 'verified',
        ...(v.ok && !unsigned ? { kid: v.claims.kid, nonce: v.claims.nonce } : {}),
        ...(v.ok ? { round: v.claims.round } : {}),
      },
      a,
    );
    return a;
  }

  async function verificationOf(s: ResubmitSignal, checkpointId: string): Promise<ResubmissionVerification> {
    let v: ResubmissionVerification;
    if (typeof s.token === 'string') {
      try {
        v = await verify.verifyResubmissionSignal({ token: s.token, workflowId: workflowInfo().workflowId, at: now() });
      } catch (err) {
        v = { ok: false, reason: 'malformed', message: `the signature could not be checked: ${causeMessage(err)}` };
      }
    } else if (!allowUnsigned) {
      v = { ok: false, reason: 'malformed', message: UNSIGNED_REFUSED.replace('approval', 'resubmission') };
    } else {
      const inst0 = find(checkpointId);
      const first = inst0?.state?.rounds[0].submission.preparerId;
      v = {
        ok: true,
        claims: {
          workflowId: workflowInfo().workflowId,
          checkpointId,
          round: typeof s.round === 'number' ? s.round : inst0?.state ? currentRound(inst0.state).round + 1 : 2,
          preparerId: str(s.preparerId) ?? first ?? UNKNOWN_APPROVER,
          ...(str(s.amount) ? { amount: s.amount } : {}),
          ...(str(s.currency) ? { currency: s.currency } : {}),
          ...(str(s.itemRef) ? { itemRef: s.itemRef } : {}),
          ...(str(s.description) ? { description: s.description } : {}),
          evidence: parseEvidence(s.evidence),
          ...(str(s.resolution) ? { resolution: s.resolution } : {}),
          nonce: `${UNSIGNED_NONCE}${uuid4()}`,
          issuedAt: now(),
          expiresAt: now(),
          issuer: 'unsigned (development)',
          kid: UNSIGNED_KID,
        },
      };
    }
    return v;
  }

  function judge(s: ResubmitSignal, checkpointId: string, v: ResubmissionVerification): ApprovalAnswer {
    const at = now();
    const inst = find(checkpointId);
    const by = v.ok ? v.claims.preparerId : (v.preparerId ?? str(s.preparerId) ?? UNKNOWN_APPROVER);
    const refuse = (reason: string, message: string): ApprovalAnswer => {
      if (inst) {
        if (inst.resubmissions.length < MAX_RESUBMISSION_LOG)
          inst.resubmissions.push({ at, by, outcome: 'refused', reason, message });
        else inst.refusalsNotKept += 1;
        inst.version += 1;
      } else if (unrouted.length < MAX_UNROUTED) unrouted.push({ at, checkpointId, approverId: by, reason, message });
      return answer(inst, { accepted: false, reason, message }, checkpointId);
    };
    if (!inst?.state || inst.phase === 'closed')
      return refuse(
        'checkpoint_not_open',
        inst?.phase === 'closed'
          ? `checkpoint ${checkpointId} is closed (${inst.closed?.state}): the task has settled`
          : `checkpoint ${checkpointId} is not open in this workflow`,
      );
    if (!v.ok)
      return refuse(
        v.reason === 'expired' ? 'expired' : 'unsigned',
        `signature not accepted (${v.reason}): ${v.message}`,
      );
    const c = v.claims;
    const st = inst.state;
    const round = currentRound(st);
    const target = resubmissionTargetProblem(checkpointId, c, st, inst.resubmitNonces);
    if (target) return refuse(target.reason, target.message);
    if (!c.nonce.startsWith(UNSIGNED_NONCE)) inst.resubmitNonces.push(c.nonce);
    const problem = resubmissionRoundProblem(checkpointId, c, st);
    if (problem) return refuse(problem.reason, problem.message);
    // Earlier support stays attached: approvers see everything the item was ever backed with.
    const r = resubmit(inst.policy!, st, resubmittedSubmission(round.submission, c), at);
    if (!r.ok) return refuse(r.reason, r.message);
    inst.state = r.state;
    inst.resubmitRemindersSent = 0;
    const opened = currentRound(r.state);
    inst.resubmissions.push({
      at,
      by,
      outcome: 'accepted',
      message: `round ${opened.round} opened${c.kid === UNSIGNED_KID ? ' (unsigned, development)' : ''}`,
    });
    if (inst.item)
      inst.item = { ...inst.item, ...(opened.submission.amount ? { amount: opened.submission.amount } : {}) };
    inst.version += 1;
    requestApprovers(inst);
    return answer(
      inst,
      { accepted: true, outcome: 'resubmitted', level: 1, message: `round ${opened.round} is open: ${opened.basis}` },
      checkpointId,
    );
  }

  function validateResubmission(s: ResubmitSignal): void {
    if (!s || typeof s !== 'object' || typeof s.checkpointId !== 'string')
      throw refusal('malformed', 'a resubmission names its checkpointId and carries a token');
    const inst = find(s.checkpointId);
    if (!inst?.state || inst.phase === 'closed')
      throw refusal('checkpoint_not_open', `checkpoint ${s.checkpointId} is not open in this workflow`);
    const problem = resubmittableProblem(s.checkpointId, inst.state, s.round);
    if (problem) throw refusal(problem.reason, problem.message);
  }

  return { handleResubmit, validateResubmission };
}
