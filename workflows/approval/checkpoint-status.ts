// What the approvals query shows of one checkpoint: its state, rounds, decisions and refusals, who may act now and
// the next timer. A projection of the checkpoint's instance, computed on each query.
import {
  currentRound,
  eligibleApprovers,
  findCheckpoint,
  isLastResubmissionTimeout,
  LEGACY_PREFIX,
  nextEscalationStep,
  openLevel,
  parseDuration,
  resubmissionDueAt,
  resubmissionTimeouts,
  type AuditEntry,
} from '../../domain/approval';
import type { CheckpointStatus } from '../types';
import { UNSIGNED_NONCE, UNSIGNED_WARNING, type Instance } from './instance';

export function statusOf(inst: Instance, opts: { allowUnsigned: boolean; now: () => string }): CheckpointStatus {
  const { allowUnsigned, now } = opts;
  const flags: Partial<CheckpointStatus> = allowUnsigned
    ? { unsignedApprovalsAllowed: true, warning: UNSIGNED_WARNING }
    : {};
  const base = {
    checkpointId: inst.checkpointId,
    resubmissions: inst.resubmissions,
    notifications: inst.notifications,
    refusalsNotKept: inst.refusalsNotKept,
    ...flags,
  };
  const refusalOf = (e: AuditEntry): CheckpointStatus['refusals'][number] => ({
    at: e.at,
    approverId: e.actor,
    role: e.role ?? '',
    reason: e.reason ?? 'refused',
    round: e.round,
    message: e.message,
  });
  if (!inst.state)
    return {
      ...base,
      state: 'pending',
      allowedRoles: [],
      escalations: [],
      decisions: [],
      refusals: inst.preOpen.map(refusalOf),
      audit: inst.preOpen,
      waitingFor: 'nobody',
    };
  const st = inst.state;
  const pol = inst.policy!;
  const round = currentRound(st);
  const running = inst.phase === 'running';
  const nowIso = now();
  const who = running ? eligibleApprovers(pol, st, nowIso) : { roles: [], users: [] };
  const lvl = running ? openLevel(st) : undefined;
  let nextTimer: CheckpointStatus['nextTimer'];
  if (running && st.status === 'open') {
    const step = nextEscalationStep(pol, st)!;
    nextTimer = { kind: step.kind, dueAt: step.dueAt, ...(step.toRole ? { toRole: step.toRole } : {}) };
  } else if (running && st.status === 'rejected') {
    const cp = findCheckpoint(pol, inst.checkpointId)!;
    const timeouts = resubmissionTimeouts(cp.escalation.escalation_path);
    nextTimer = {
      kind: isLastResubmissionTimeout(inst.resubmitRemindersSent, timeouts)
        ? 'not_resubmitted'
        : 'resubmission_reminder',
      dueAt: resubmissionDueAt(round.closedAt!, inst.resubmitRemindersSent, parseDuration(cp.escalation.timeout)),
    };
  }
  return {
    ...base,
    state: st.status,
    itemType: st.itemType,
    ...(inst.item ? { item: inst.item } : {}),
    round: round.round,
    allowedRoles: who.roles,
    escalations: st.audit
      .filter((e) => e.event === 'escalated' && e.round === round.round)
      .map((e) => ({ at: e.at, toRole: e.role ?? '' })),
    decisions: st.rounds.flatMap((r) =>
      r.levels
        .filter((l) => l.signature)
        .map((l) => {
          const s = l.signature!;
          return {
            at: s.at,
            approverId: s.approverId,
            role: s.role,
            decision: s.decision,
            ...(s.comments !== undefined ? { comments: s.comments } : {}),
            round: r.round,
            level: l.level,
            ...(s.onBehalfOf ? { onBehalfOf: s.onBehalfOf } : {}),
            viaEscalation: s.viaEscalation,
            signed: !s.nonce.startsWith(UNSIGNED_NONCE),
            nonce: s.nonce,
            evidence: s.evidence,
            ...(s.resolution !== undefined ? { resolution: s.resolution } : {}),
          };
        }),
    ),
    refusals: st.audit.filter((e) => e.outcome === 'refused').map(refusalOf),
    rounds: st.rounds.map((r) => ({
      round: r.round,
      status: r.status,
      openedAt: r.openedAt,
      ...(r.closedAt ? { closedAt: r.closedAt } : {}),
      preparerId: r.submission.preparerId,
      ...(r.submission.amount ? { amount: r.submission.amount } : {}),
      mode: r.mode,
      basis: r.basis,
      levels: r.levels.map((l) => ({
        level: l.level,
        role: l.role,
        limit: l.limit,
        ...(l.signature
          ? {
              signedBy: l.signature.approverId,
              ...(l.signature.onBehalfOf ? { onBehalfOf: l.signature.onBehalfOf } : {}),
              decision: l.signature.decision,
              at: l.signature.at,
            }
          : {}),
      })),
      escalatedTo: r.escalation.escalatedTo,
      reminders: r.escalation.reminders,
    })),
    ...(lvl
      ? {
          openLevel: {
            level: lvl.level,
            role: lvl.role,
            of: round.levels.length,
            eligibleApprovers: who.users.map((u) => u.userId).filter((u) => !u.startsWith(LEGACY_PREFIX)),
          },
        }
      : {}),
    ...(nextTimer ? { nextTimer } : {}),
    waitingFor: !running ? 'nobody' : st.status === 'rejected' ? 'preparer' : 'approvers',
    ...(inst.closed?.reason ? { blockedReason: inst.closed.reason } : {}),
    audit: st.audit,
  };
}
