// The seed's ApprovalConfig: roles with what they may prepare and approve up to which amount, the people who hold
// them, checkpoints, delegations. It writes the close's approvalPolicy (domain/approval/policy.ts, the same object a
// YAML plan carries), checked there: a checkpoint naming an unknown role is refused when the workflow is built.
import type { ApprovalPolicyInput } from '../../domain/approval/policy';
import { FinflowBuildError } from './errors';

/** A decimal amount as a string (`'10000.00'`), a whole number, or `'unlimited'`. */
export type Limit = string | number;

export interface RoleOptions {
  canPrepare?: string[];
  canApprove?: string[];
  /** Per item type: `{ journal_entry: '10000' }`. */
  approvalLimits?: Record<string, Limit>;
}

export interface UserOptions {
  roles: string[];
  manager?: string;
  displayName?: string;
  email?: string;
}

export interface EscalationOptions {
  /** `'4h'`, `'1d'`. */
  timeout: string;
  escalationPath?: string[];
  reminderBefore?: string;
}

/** A checkpoint: who approves an item type, how, and what happens when nobody does. */
export interface CheckpointOptions {
  name?: string;
  itemType: string;
  requiredRoles: string[];
  /** chain (default): every level up to the role whose limit covers the amount; single: one covering approver. */
  mode?: 'chain' | 'single';
  escalation: EscalationOptions;
  /** true: some evidence; a list: one reference of each named kind. */
  evidenceRequired?: boolean | string[];
  resolutionRequired?: boolean;
  materialityThreshold?: Limit;
  /** A reconciliation checkpoint refuses approvals while exceptions above this amount are unexplained. */
  exceptionMateriality?: Limit;
  /** A reconciliation checkpoint refuses approvals until each reconciliation's preparer certified it (signed). */
  certificationRequired?: boolean;
}

export interface DelegationOptions {
  from: string;
  to: string;
  role?: string;
  fromDate: string;
  toDate: string;
  reason?: string;
}

type Checkpoint = NonNullable<ApprovalPolicyInput['checkpoints']>[number];

/** The snake_case checkpoint of the policy from the library's camelCase. */
export function checkpointOf(id: string, o: CheckpointOptions): Checkpoint {
  const out: Record<string, unknown> = {
    id,
    ...(o.name !== undefined ? { name: o.name } : {}),
    item_type: o.itemType,
    required_roles: o.requiredRoles,
    ...(o.mode !== undefined ? { mode: o.mode } : {}),
    escalation: o.escalation
      ? {
          timeout: o.escalation.timeout,
          ...(o.escalation.escalationPath !== undefined ? { escalation_path: o.escalation.escalationPath } : {}),
          ...(o.escalation.reminderBefore !== undefined ? { reminder_before: o.escalation.reminderBefore } : {}),
        }
      : undefined,
    ...(o.evidenceRequired !== undefined ? { evidence_required: o.evidenceRequired } : {}),
    ...(o.resolutionRequired !== undefined ? { resolution_required: o.resolutionRequired } : {}),
    ...(o.materialityThreshold !== undefined ? { materiality_threshold: o.materialityThreshold } : {}),
    ...(o.exceptionMateriality !== undefined ? { exception_materiality: o.exceptionMateriality } : {}),
    ...(o.certificationRequired !== undefined ? { certification_required: o.certificationRequired } : {}),
  };
  return out as Checkpoint;
}

/** The camelCase name of a policy field, so an error names what the caller wrote. */
export const POLICY_FIELD_NAMES: Record<string, string> = {
  can_prepare: 'canPrepare',
  can_approve: 'canApprove',
  approval_limits: 'approvalLimits',
  item_type: 'itemType',
  required_roles: 'requiredRoles',
  escalation_path: 'escalationPath',
  reminder_before: 'reminderBefore',
  evidence_required: 'evidenceRequired',
  resolution_required: 'resolutionRequired',
  materiality_threshold: 'materialityThreshold',
  exception_materiality: 'exceptionMateriality',
  certification_required: 'certificationRequired',
  from_date: 'fromDate',
  to_date: 'toDate',
};

/** The seed's ApprovalConfig. Every method returns `this`, so definitions chain. */
export class ApprovalConfig {
  readonly #roles: NonNullable<ApprovalPolicyInput['roles']> = [];
  readonly #users: NonNullable<ApprovalPolicyInput['users']> = [];
  readonly #checkpoints: Checkpoint[] = [];
  readonly #delegations: NonNullable<ApprovalPolicyInput['delegations']> = [];

  /** `defineRole('supervisor', { canApprove: ['journal_entry'], approvalLimits: { journal_entry: '10000' } })`. */
  defineRole(name: string, options: RoleOptions = {}): this {
    if (this.#roles.some((r) => r.name === name))
      throw new FinflowBuildError([{ path: `approvals.roles.${name}`, message: 'defined twice' }], 'approval config');
    this.#roles.push({
      name,
      ...(options.canPrepare !== undefined ? { can_prepare: options.canPrepare } : {}),
      ...(options.canApprove !== undefined ? { can_approve: options.canApprove } : {}),
      ...(options.approvalLimits !== undefined ? { approval_limits: options.approvalLimits } : {}),
    });
    return this;
  }

  /** A person of the directory and their roles (an identity provider proves who they are; roles come from here). */
  addUser(userId: string, options: UserOptions): this {
    this.#users.push({ userId, ...options });
    return this;
  }

  /** A checkpoint not tied to a task of the workflow (e.g. the template for task waivers). */
  defineCheckpoint(id: string, options: CheckpointOptions): this {
    this.#checkpoints.push(checkpointOf(id, options));
    return this;
  }

  /** A delegation of a user's authority for a period. */
  delegate(options: DelegationOptions): this {
    this.#delegations.push({
      from: options.from,
      to: options.to,
      ...(options.role !== undefined ? { role: options.role } : {}),
      from_date: options.fromDate,
      to_date: options.toDate,
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
    });
    return this;
  }

  /** Roles of a user in this directory (what a signed decision records). */
  rolesOf(userId: string): string[] | undefined {
    return this.#users.find((u) => u.userId === userId)?.roles;
  }

  /**
   * The approval policy, with the workflow's own checkpoints first (in the order they were added), then the ones
   * defined here. Validated when the workflow is built.
   */
  toPolicy(workflowCheckpoints: Checkpoint[] = []): ApprovalPolicyInput {
    return {
      roles: [...this.#roles],
      users: [...this.#users],
      checkpoints: [...workflowCheckpoints, ...this.#checkpoints],
      ...(this.#delegations.length ? { delegations: [...this.#delegations] } : {}),
    };
  }
}
