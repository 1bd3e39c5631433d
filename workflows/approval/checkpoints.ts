// Approval checkpoints hosted inside a workflow (the close, or approvalWorkflow for one item on its own). The
// rules are domain/approval (pure); this module is their durable host:
// - decisions arrive as the `approval` signal or the `submitApproval` update, each carrying a token the approval
//   gateway signed; a local activity verifies it (signature, expiry, workflow) and evaluateDecision judges it
//   (nonce, directory roles, limits, segregation of duties, evidence). Every attempt lands in the audit trail.
// - escalation runs on durable timers from escalationPlan: reminder, escalate, ..., deadlock. A deadlock ends the
//   checkpoint: the owner is notified and the task is blocked with the reason.
// - a rejection sends the item back to the preparer, who resubmits (signed too): a new round; the preparer gets the
//   same number of timeouts as the approvers did, after which the task is blocked.
// - notifications go to the outbox table through an activity, and on to a webhook when the worker has one.
//
// Unsigned approvals (a plain `temporal workflow signal` with {decision, approverId}) are refused and recorded as
// `unsigned`, unless the workflow input sets allowUnsignedApprovals: development only, and said so in every status.
// Decisions are applied one at a time in arrival order (verification is async; a queue keeps the order).
import { condition, log, proxyLocalActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { ApprovalActivities, ResubmissionVerification } from '../../activities/approval';
import {
  applyEscalationStep,
  attemptFromVerification,
  currentRound,
  describeSigner,
  evaluateDecision,
  findCheckpoint,
  findRole,
  findUser,
  formatDuration,
  isLastResubmissionTimeout,
  LEGACY_PREPARER,
  legacyPolicyInput,
  nextEscalationStep,
  openCheckpoint,
  parseApprovalPolicy,
  parseDuration,
  resubmissionDueAt,
  resubmissionRoundProblem,
  resubmissionTargetProblem,
  resubmissionTimeouts,
  resubmit,
  resubmittableProblem,
  resubmittedSubmission,
  submissionOfItem,
  UNKNOWN_APPROVER,
  type ApprovalPolicy,
  type ApprovalVerification,
  type CheckpointState,
  type DecisionAttempt,
  type SubmissionInput,
} from '../../domain/approval';
import {
  approvalSignal,
  approvalsQuery,
  resubmitSignal,
  submitApprovalUpdate,
  submitResubmissionUpdate,
  type ApprovalAnswer,
  type ApprovalSignal,
  type ResubmitSignal,
} from '../definitions';
import type { ApprovalsStatus, ApprovalTaskConfig, CheckpointStatus } from '../types';
import { statusOf } from './checkpoint-status';
import {
  causeMessage,
  fail,
  MAX_REFUSALS_KEPT,
  MAX_RESUBMISSION_LOG,
  MAX_UNROUTED,
  newInstance as emptyInstance,
  parseEvidence,
  refusal,
  str,
  UNSIGNED_KID,
  UNSIGNED_NONCE,
  UNSIGNED_REFUSED,
  UNSIGNED_WARNING,
  USER_ID,
  type CheckpointOutcome,
  type Instance,
} from './instance';
import { createNotifier } from './notifications';

export type { CheckpointOutcome } from './instance';
export { UNSIGNED_KID, UNSIGNED_WARNING } from './instance';

export interface Checkpoints {
  /** Registers the signal, update and query handlers; call once, at the start of the workflow. */
  install(): void;
  /** Opens a checkpoint for an item and waits for its outcome, escalating on timeouts. */
  run(config: ApprovalTaskConfig): Promise<CheckpointOutcome>;
  statuses(): CheckpointStatus[];
  /**
   * Adds checkpoint `id` to the policy as a copy of checkpoint `templateId` (the waiver of a task added during the
   * close); true when `id` exists afterwards.
   */
  addFromTemplate(id: string, templateId: string): boolean;
  /** The user's roles in the policy's directory; undefined when the workflow has no approval policy. */
  rolesOf(userId: string): readonly string[] | undefined;
}

export interface CheckpointsOptions {
  /** The workflow clock (ISO); default the workflow's Date, which is deterministic on replay. */
  now?: () => string;
  /** The approval policy (as written in the workflow input); checked once, here. */
  policy?: unknown;
  /** userId of the close owner, told about deadlocks and items not resubmitted. */
  owner?: string;
  /** DEVELOPMENT ONLY: count unsigned approvals (identity claimed). */
  allowUnsignedApprovals?: boolean;
}

// Verification reads only the worker's key set: a local activity answers within the workflow task that handles
// the signal, which is what keeps signal-to-decision latency low. Three attempts ride out a worker hiccup; an
// error past them is an outage, and the attempt is refused with that said (the approver sends it again).
const verify = proxyLocalActivities<ApprovalActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});
export function createCheckpoints(options: CheckpointsOptions | (() => string) = {}): Checkpoints {
  const opts: CheckpointsOptions = typeof options === 'function' ? { now: options } : options;
  const now = opts.now ?? (() => new Date().toISOString());
  const allowUnsigned = opts.allowUnsignedApprovals === true;
  let policy: ApprovalPolicy | undefined;
  if (opts.policy !== undefined && opts.policy !== null) {
    try {
      policy = parseApprovalPolicy(opts.policy, 'approvalPolicy');
    } catch (err) {
      throw fail('InvalidApprovalPolicy', (err as Error).message);
    }
  }
  const owner = opts.owner !== undefined && USER_ID.test(opts.owner) ? opts.owner : undefined;
  const instances: Instance[] = [];
  const unrouted: ApprovalsStatus['unrouted'] = [];
  let queue: Promise<unknown> = Promise.resolve();
  if (allowUnsigned) log.warn(UNSIGNED_WARNING);

  const find = (id: string): Instance | undefined => instances.find((i) => i.checkpointId === id);
  const { notify, requestApprovers, itemText, settled } = createNotifier(now);

  function newInstance(checkpointId: string): Instance {
    const inst = emptyInstance(checkpointId);
    instances.push(inst);
    return inst;
  }

  /** One decision or resubmission at a time, in arrival order, though each waits for its verification. */
  function serially<T>(fn: () => Promise<T>): Promise<T> {
    const p = queue.then(fn);
    queue = p.catch(() => undefined);
    return p;
  }

  // ------------------------------------------------------------ opening a checkpoint

  function legacyPolicy(config: ApprovalTaskConfig): ApprovalPolicy {
    try {
      return parseApprovalPolicy(
        legacyPolicyInput(config),
        `approval task ${config.checkpointId} (slice shape {role, escalation})`,
      );
    } catch (err) {
      throw fail('InvalidApprovalConfig', (err as Error).message);
    }
  }

  function open(config: ApprovalTaskConfig): Instance {
    const id = config?.checkpointId;
    if (typeof id !== 'string' || id === '')
      throw fail('InvalidApprovalConfig', 'an approval task needs a checkpointId');
    const existing = find(id);
    if (existing && existing.phase !== 'pending')
      throw fail(
        'InvalidApprovalConfig',
        `checkpoint ${id} is already used by another approval task of this workflow: approvals name the checkpoint, so each task needs its own`,
      );
    let pol: ApprovalPolicy;
    let submission: SubmissionInput;
    let legacy = false;
    if (config.item === undefined || config.item === null) {
      if (config.role === undefined)
        throw fail(
          'InvalidApprovalConfig',
          `approval task ${id}: "item" is required ({ preparer, amount, evidence }), and the checkpoint must be in approvalPolicy`,
        );
      if (!allowUnsigned)
        throw fail(
          'InvalidApprovalConfig',
          `approval task ${id} uses the slice shape {role, escalation}, whose approvers claim their role: name a checkpoint ` +
            `of the workflow's approvalPolicy and give the item ({ preparer, amount, evidence }); for development only, ` +
            `set allowUnsignedApprovals: true`,
        );
      pol = legacyPolicy(config);
      submission = { preparerId: LEGACY_PREPARER, evidence: [] };
      legacy = true;
    } else {
      if (!policy)
        throw fail(
          'ApprovalPolicyMissing',
          `approval task ${id} names checkpoint ${id}, but the workflow input has no approvalPolicy`,
        );
      const cp = findCheckpoint(policy, id);
      if (!cp)
        throw fail(
          'InvalidApprovalConfig',
          `checkpoint ${id} is not in the approval policy (it has ${policy.checkpoints.map((c) => c.id).join(', ') || 'none'})`,
        );
      if (config.item.type !== undefined && config.item.type !== cp.item_type)
        throw fail(
          'InvalidApprovalConfig',
          `approval task ${id}: the item is a ${config.item.type}, but checkpoint ${id} approves ${cp.item_type}`,
        );
      pol = policy;
      submission = submissionOfItem(config.item);
    }
    const opened = openCheckpoint(pol, id, submission, now());
    if (!opened.ok) throw fail('InvalidApprovalItem', `approval task ${id}: ${opened.message}`);
    const inst = existing ?? newInstance(id);
    inst.policy = pol;
    inst.legacy = legacy;
    inst.phase = 'running';
    inst.state = { ...opened.state, audit: [...inst.preOpen, ...opened.state.audit] };
    inst.item = legacy
      ? undefined
      : JSON.parse(
          JSON.stringify({
            type: opened.state.itemType,
            amount: submission.amount,
            currency: submission.currency,
            preparer: submission.preparerId,
            ref: submission.itemRef,
          }),
        );
    inst.version += 1;
    return inst;
  }

  // ------------------------------------------------------------ decisions

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

  async function attemptOf(s: ApprovalSignal, inst: Instance | undefined): Promise<DecisionAttempt> {
    if (typeof s.token === 'string') {
      let v: ApprovalVerification;
      try {
        v = await verify.verifyApprovalSignal({ token: s.token, workflowId: workflowInfo().workflowId, at: now() });
      } catch (err) {
        v = { ok: false, reason: 'malformed', message: `the signature could not be checked: ${causeMessage(err)}` };
      }
      return attemptFromVerification(v, { checkpointId: s.checkpointId });
    }
    if (!allowUnsigned) return failedAttempt(s, UNSIGNED_REFUSED);
    const a = unsignedAttempt(s, inst?.state);
    return typeof a === 'string' ? failedAttempt(s, a) : a;
  }

  function answer(
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

  async function handleApproval(s: ApprovalSignal): Promise<ApprovalAnswer> {
    const checkpointId = str(s?.checkpointId) ?? '';
    const signal: ApprovalSignal = { ...s, checkpointId };
    let inst = find(checkpointId);
    const attempt = await attemptOf(signal, inst);
    inst = find(checkpointId);
    if (!inst && policy && findCheckpoint(policy, checkpointId)) inst = newInstance(checkpointId);
    if (!inst?.state) return refusedBeforeOpen(inst, checkpointId, attempt);

    const r = evaluateDecision(policyFor(inst, attempt), inst.state, attempt, now());
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

  // ------------------------------------------------------------ resubmissions

  async function handleResubmit(s: ResubmitSignal): Promise<ApprovalAnswer> {
    const checkpointId = str(s?.checkpointId) ?? '';
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

  // ------------------------------------------------------------ timers

  function msUntil(iso: string): number {
    return Date.parse(iso) - Date.parse(now());
  }

  /** Waits until the instance changes or `dueAt`; true when it changed. */
  async function changedBefore(inst: Instance, dueAt: string, summary: string): Promise<boolean> {
    const v = inst.version;
    const ms = msUntil(dueAt);
    if (ms <= 0) return false;
    // A durable server-side timer: it survives worker restarts, and the time-skipping test server fast-forwards it.
    return condition(() => inst.version !== v, ms, { summary });
  }

  async function drive(inst: Instance): Promise<CheckpointOutcome> {
    const pol = inst.policy!;
    const cp = findCheckpoint(pol, inst.checkpointId)!;
    const timeoutMs = parseDuration(cp.escalation.timeout);
    // The preparer gets as long to fix a rejected item as the approvers got to decide on it.
    const resubmitTimeouts = resubmissionTimeouts(cp.escalation.escalation_path);
    for (;;) {
      const st = inst.state!;
      const round = currentRound(st);
      if (st.status === 'approved') return { state: 'approved' };
      if (st.status === 'open') {
        const step = nextEscalationStep(pol, st)!;
        const summary = step.kind === 'escalate' ? `escalate to ${step.toRole}` : step.kind;
        if (await changedBefore(inst, step.dueAt, `${inst.checkpointId} round ${round.round}: ${summary}`)) continue;
        const out = applyEscalationStep(pol, st, now())!;
        inst.state = out.state;
        inst.version += 1;
        const users = out.notify.users.map((u) => u.userId);
        if (out.step.kind === 'reminder')
          notify(inst, 'reminder', out.step.escalationLevel, users, out.notify.roles, `Reminder: ${out.message}`);
        else if (out.step.kind === 'escalate')
          notify(inst, 'escalated', out.step.escalationLevel, users, out.notify.roles, `Escalated: ${out.message}`, {
            toRole: out.step.toRole ?? null,
          });
        else {
          notify(
            inst,
            'deadlocked',
            out.step.escalationLevel,
            owner ? [owner] : [],
            ['close_owner'],
            `Deadlocked: ${out.message}`,
            { message: out.message },
          );
          return { state: 'deadlocked', reason: out.message };
        }
        continue;
      }
      // Rejected: the item is with its preparer until they resubmit.
      const k = inst.resubmitRemindersSent;
      const dueAt = resubmissionDueAt(round.closedAt!, k, timeoutMs);
      if (await changedBefore(inst, dueAt, `${inst.checkpointId} round ${round.round}: awaiting resubmission`))
        continue;
      const preparer = round.submission.preparerId;
      const rejecter = round.levels.find((l) => l.signature?.decision === 'rejected');
      if (!isLastResubmissionTimeout(k, resubmitTimeouts)) {
        inst.resubmitRemindersSent += 1;
        inst.version += 1;
        notify(
          inst,
          'resubmission_reminder',
          k + 1,
          [preparer],
          [],
          `Awaiting resubmission: ${inst.checkpointId} round ${round.round} was rejected; resubmit it with the fix`,
        );
        continue;
      }
      const reason =
        `rejected by ${rejecter?.signature ? describeSigner(rejecter.signature) : 'an approver'} at level ` +
        `${rejecter?.level ?? '?'} of round ${round.round}, and not resubmitted by ${preparer} within ` +
        formatDuration(resubmitTimeouts * timeoutMs);
      notify(
        inst,
        'not_resubmitted',
        0,
        [preparer, ...(owner ? [owner] : [])],
        ['close_owner'],
        `Not resubmitted: ${inst.checkpointId}: ${reason}`,
        {
          message: reason,
        },
      );
      return { state: 'rejected', reason };
    }
  }

  const statuses = (): CheckpointStatus[] => instances.map((inst) => statusOf(inst, { allowUnsigned, now }));

  return {
    install() {
      setHandler(approvalSignal, async (s) => {
        await serially(() => handleApproval(s));
      });
      setHandler(submitApprovalUpdate, (s) => serially(() => handleApproval(s)), { validator: validateApproval });
      setHandler(resubmitSignal, async (s) => {
        await serially(() => handleResubmit(s));
      });
      setHandler(submitResubmissionUpdate, (s) => serially(() => handleResubmit(s)), {
        validator: validateResubmission,
      });
      setHandler(approvalsQuery, (): ApprovalsStatus => ({
        workflowId: workflowInfo().workflowId,
        unsignedApprovalsAllowed: allowUnsigned,
        ...(allowUnsigned ? { warning: UNSIGNED_WARNING } : {}),
        checkpoints: statuses(),
        unrouted,
      }));
    },
    statuses,
    rolesOf(userId) {
      return policy ? (findUser(policy, userId)?.roles ?? []) : undefined;
    },
    addFromTemplate(id, templateId) {
      if (!policy) return false;
      if (findCheckpoint(policy, id)) return true;
      const template = findCheckpoint(policy, templateId);
      if (!template) return false;
      policy = { ...policy, checkpoints: [...policy.checkpoints, { ...template, id }] };
      return true;
    },
    async run(config) {
      const inst = open(config);
      if (inst.legacy) log.warn(`approval checkpoint ${inst.checkpointId} uses the slice shape: ${UNSIGNED_WARNING}`);
      requestApprovers(inst);
      const outcome = await drive(inst);
      inst.phase = 'closed';
      inst.closed = { ...outcome, at: now() };
      inst.version += 1;
      // The task settles only once its notifications (a deadlock's above all) are in the outbox.
      await settled();
      return outcome;
    },
  };
}
