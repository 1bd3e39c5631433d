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
import { log, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  findCheckpoint,
  findUser,
  LEGACY_PREPARER,
  legacyPolicyInput,
  openCheckpoint,
  parseApprovalPolicy,
  submissionOfItem,
  type ApprovalPolicy,
  type Delegation,
  type SubmissionInput,
} from '../../domain/approval';
import {
  approvalSignal,
  approvalsQuery,
  delegationSignal,
  resubmitSignal,
  submitApprovalUpdate,
  submitDelegationUpdate,
  submitResubmissionUpdate,
} from '../definitions';
import type { ApprovalsStatus, ApprovalTaskConfig, CheckpointStatus } from '../types';
import { statusOf } from './checkpoint-status';
import {
  fail,
  newInstance as emptyInstance,
  UNSIGNED_WARNING,
  USER_ID,
  type CheckpointOutcome,
  type Instance,
} from './instance';
import { createDecisions } from './decisions';
import { createDelegations } from './delegations';
import { createEscalation } from './escalation';
import type { ExceptionGateSource } from './exception-gate';
import type { CheckpointHost } from './host';
import { createNotifier } from './notifications';
import { createLedgerTrail } from './ledger';
import { createResubmissions } from './resubmissions';

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
  /**
   * The hosting workflow (the close) says which reconciliations a checkpoint approves and who worked their
   * exceptions: approvals of those checkpoints then pass the exception gate (./exception-gate.ts).
   */
  gateExceptions(source: (checkpointId: string) => ExceptionGateSource | undefined): void;
  /** Delegations accepted while this run went on (./delegations.ts): a continued close carries them on. */
  delegationsReceived(): Delegation[];
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
  const notifier = createNotifier(now);

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

  const host: CheckpointHost = {
    now,
    allowUnsigned,
    owner,
    policy: () => policy,
    find,
    newInstance,
    unrouted,
    notifier,
    ledger: createLedgerTrail(),
  };
  const { handleApproval, validateApproval } = createDecisions(host);
  const { handleResubmit, validateResubmission } = createResubmissions(host);
  const drive = createEscalation(host);
  // Delegations granted while the workflow runs join its policy and every opened checkpoint's (./delegations.ts).
  const delegations = createDelegations({
    now,
    policy: () => policy,
    ledger: host.ledger,
    add(d) {
      if (policy) policy = { ...policy, delegations: [...policy.delegations, d] };
      for (const inst of instances)
        if (!inst.legacy && inst.policy) inst.policy = { ...inst.policy, delegations: [...inst.policy.delegations, d] };
    },
  });

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
      setHandler(delegationSignal, async (r) => {
        await serially(() => delegations.handleDelegation(r));
      });
      setHandler(submitDelegationUpdate, (r) => serially(() => delegations.handleDelegation(r)), {
        validator: delegations.validateDelegation,
      });
      setHandler(approvalsQuery, (): ApprovalsStatus => ({
        workflowId: workflowInfo().workflowId,
        unsignedApprovalsAllowed: allowUnsigned,
        ...(allowUnsigned ? { warning: UNSIGNED_WARNING } : {}),
        checkpoints: statuses(),
        unrouted,
        ...(delegations.log.length ? { delegations: delegations.log } : {}),
      }));
    },
    statuses,
    delegationsReceived() {
      return delegations.log.flatMap((e) => (e.accepted && e.delegation ? [e.delegation] : []));
    },
    gateExceptions(source) {
      host.exceptionGate = source;
    },
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
      notifier.requestApprovers(inst);
      const outcome = await drive(inst);
      inst.phase = 'closed';
      inst.closed = { ...outcome, at: now() };
      inst.version += 1;
      // The task settles only once its notifications (a deadlock's above all) are in the outbox.
      await notifier.settled();
      // ...and every judged decision on it is in the audit ledger.
      await host.ledger.settled();
      return outcome;
    },
  };
}
