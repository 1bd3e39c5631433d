// The approval checkpoint's shapes every layer shares: a task's config and item, the single-checkpoint workflow's
// input, and what the approvals query answers. Plain JSON-safe shapes only: they cross the wire and land in history.
import type { ApprovalPolicyInput, AuditEntry, EvidenceRef } from '../domain/approval';

/** The item an approval checkpoint decides on, as the plan (or the approver app) describes it. */
export interface ApprovalItem {
  /** The item type; when given it must be the checkpoint's item_type (a guard against a plan naming the wrong checkpoint). */
  type?: string;
  /** Decimal string ("75000.00"); required where the checkpoint's roles have approval limits. */
  amount?: string;
  currency?: string;
  /** userId of the preparer (segregation of duties: they may not approve it; a rejection goes back to them). */
  preparer: string;
  /** Business key of the item, e.g. a journal entry number. */
  ref?: string;
  description?: string;
  /** References to evidence (result-store keys, document ids), never the documents themselves. */
  evidence?: EvidenceRef[];
  resolution?: string;
}

/**
 * An approval task: a checkpoint of the close's approvalPolicy and the item it decides on. The older slice shape
 * ({ role, escalation } without an item) is still read, as a development-only checkpoint whose approvers claim their
 * role: it runs only when the close sets allowUnsignedApprovals.
 */
export interface ApprovalTaskConfig {
  /** Id of a checkpoint in the approval policy (one open instance per checkpoint id per workflow). */
  checkpointId: string;
  item?: ApprovalItem;
  /** @deprecated slice shape: role that may approve first; each escalation adds the next role of the path. */
  role?: string;
  /** @deprecated slice shape. */
  escalation?: { timeout: string; path: string[] };
}

/** A single approval checkpoint on its own (e.g. a journal entry outside a close): approvalWorkflow's input. */
export interface ApprovalWorkflowInput {
  checkpointId: string;
  item: ApprovalItem;
  approvalPolicy: ApprovalPolicyInput;
  /** userId told when the checkpoint deadlocks or the item is not resubmitted. */
  owner?: string;
  /** DEVELOPMENT ONLY, as in MonthEndCloseInput. */
  allowUnsignedApprovals?: boolean;
}

export interface CheckpointStatus {
  checkpointId: string;
  /** pending: named by an attempt before its task opened it. */
  state: 'open' | 'approved' | 'rejected' | 'deadlocked' | 'pending';
  /** Roles that may sign the open level now (escalated roles included). */
  allowedRoles: string[];
  /** Escalations of the current round. */
  escalations: { at: string; toRole: string }[];
  /** Accepted decisions of every round, in order. */
  decisions: {
    at: string;
    approverId: string;
    role: string;
    decision: string;
    comments?: string;
    round?: number;
    level?: number;
    onBehalfOf?: string;
    viaEscalation?: boolean;
    /** false: an unsigned decision counted under allowUnsignedApprovals (development only). */
    signed?: boolean;
    nonce?: string;
    evidence?: EvidenceRef[];
    resolution?: string;
  }[];
  /** Refused attempts, in order; `reason` is the refusal code (unsigned, wrong_role, over_limit, ...). */
  refusals: { at: string; approverId: string; role: string; reason: string; round?: number; message?: string }[];
  itemType?: string;
  item?: { type?: string; amount?: string; currency?: string; preparer: string; ref?: string };
  /** Current round number (1 until a resubmission). */
  round?: number;
  rounds?: {
    round: number;
    status: string;
    openedAt: string;
    closedAt?: string;
    preparerId: string;
    amount?: string;
    mode: 'chain' | 'single';
    basis: string;
    levels: {
      level: number;
      role: string;
      limit: string | null;
      signedBy?: string;
      onBehalfOf?: string;
      decision?: string;
      at?: string;
    }[];
    escalatedTo: string[];
    reminders: { at: string; escalationLevel: number; roles: string[] }[];
  }[];
  /** The level waiting for a signature, and who could sign it now. */
  openLevel?: { level: number; role: string; of: number; eligibleApprovers: string[] };
  /** Next timer: reminder, escalation or deadlock (absent when nothing waits on a timer). */
  nextTimer?: { kind: string; dueAt: string; toRole?: string };
  waitingFor?: 'approvers' | 'preparer' | 'nobody';
  /** Why the task cannot go on (deadlock, not resubmitted); absent while it can. */
  blockedReason?: string;
  /** The checkpoint's audit trail: submissions, decisions (accepted and refused), reminders, escalations. */
  audit?: AuditEntry[];
  resubmissions?: { at: string; by: string; outcome: 'accepted' | 'refused'; reason?: string; message: string }[];
  /** Outbox records written, and failures (the checkpoint goes on without them). */
  notifications?: { queued: number; failed: number; lastError?: string };
  /** Refused attempts beyond what the trail keeps (a flood of unsigned signals): counted, and still in history. */
  refusalsNotKept?: number;
  /** Set (and loud) only when the close allows unsigned approvals. */
  unsignedApprovalsAllowed?: boolean;
  warning?: string;
}

/** The `approvals` query: every checkpoint of a workflow, and attempts that named no checkpoint of it. */
export interface ApprovalsStatus {
  workflowId: string;
  unsignedApprovalsAllowed: boolean;
  warning?: string;
  checkpoints: CheckpointStatus[];
  unrouted: { at: string; checkpointId: string; approverId: string; reason: string; message: string }[];
  /** Delegations sent to the running workflow (`finflow approval delegate`), accepted and refused, newest last. */
  delegations?: DelegationLogEntry[];
}

/** A delegation a running workflow received: who signed it, what it grants, and whether it counts (and why not). */
export interface DelegationLogEntry {
  at: string;
  /** The verified signer, or `unverified:<claimed>` when the token did not verify. */
  by: string;
  accepted: boolean;
  /** Refusal code when not accepted (delegation_loop, self_delegation, overlapping_window, key_of_another_person...). */
  reason?: string;
  message: string;
  delegation?: {
    from: string;
    to: string;
    from_date: string;
    to_date: string;
    role?: string;
    scope?: { item_type: string; limit?: string };
    reason?: string;
  };
  nonce?: string;
  kid?: string;
}
