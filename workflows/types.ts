// Plain JSON-safe shapes only: workflow inputs, results and query answers cross the wire and land in history.
import type { ApprovalPolicyInput, AuditEntry, EvidenceRef } from '../domain/approval';
import type { ClosePlanInput } from '../domain/close/plan';
import type { Category, ReconciliationDefinitionInput, SideTotals, CurrencyDifference } from '../domain/recon';

/** The kinds of a close plan (domain/close/plan.ts TASK_KINDS). */
export type TaskKind =
  'reconciliation' | 'approval' | 'manual' | 'journal_entry' | 'documentation' | 'report' | 'activity';
/**
 * done_with_exceptions: finished with warnings (a reconciliation with exceptions); a FS/FF dependant waits for a
 * waiver or a rerun, a SS_WARN dependant goes on. blocked: failed after its retries, or a dependency can no
 * longer be met (the reason says which). skipped/waived: finished by a person's action (journal says who, why).
 */
export type TaskState =
  'pending' | 'running' | 'done' | 'done_with_exceptions' | 'blocked' | 'failed' | 'skipped' | 'waived';

export interface TableRef {
  /** Name of a system registered with the worker (its connection comes from the worker's environment, never a payload). */
  system: string;
  table: string;
  keyField: string;
  valueField: string;
}

export interface ReconciliationTaskConfig {
  reconId: string;
  /** Legacy slice: two PostgreSQL tables on one system, compared in SQL. */
  a?: TableRef;
  b?: TableRef;
  /** The reconciliation definition (domain/recon), inline: sources, mappings, rules. */
  definition?: ReconciliationDefinitionInput;
  partitions?: number;
  asOf?: string;
  maxParallel?: number;
}

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

export interface CloseTaskSpec {
  id: string;
  name?: string;
  kind: TaskKind;
  predecessors?: string[];
  config: ReconciliationTaskConfig | ApprovalTaskConfig;
}

/** Options of a close run, beside its tasks (the plan file may carry them too). */
export interface CloseRunOptions {
  /** Roles, limits, users, checkpoints and delegations (domain/approval/policy.ts) the approval tasks use. */
  approvalPolicy?: ApprovalPolicyInput;
  /**
   * DEVELOPMENT ONLY: count approvals sent without a signed token (identity claimed, not proven). Shown as a
   * warning in every checkpoint's status and decisions. Never set it for a real close.
   */
  allowUnsignedApprovals?: boolean;
  /** Upsert FinflowCompany/FinflowPeriod/FinflowCloseStatus (the server must know them: the CLI's dev server does). */
  searchAttributes?: boolean;
  /**
   * The approval policy's checkpoint that waivers use as a template (default 'task-waiver'): each task of the plan
   * gets its own checkpoint `waive:<taskId>` with the template's roles, limits and escalation.
   */
  waiverCheckpoint?: string;
  /** How long a close with nothing left but blocked tasks waits for a person before it ends blocked; default 30d. */
  blockedTimeout?: string;
  /**
   * Refuse task actions (complete, rerun, waive, ...) that carry no signed token: who completed a task is then
   * proven, as an approver is. Without it, unsigned actions are accepted and journaled as claimed.
   */
  requireSignedTaskActions?: boolean;
  /**
   * Roles (in the approval policy's directory) whose holders manage the close: they may reassign, skip, add,
   * pause and resume, and rerun or ask to waive any task. The plan's owner always may, and so does whoever holds
   * one of the owner's own roles (the default when this is not given). Checked for signed actions only (an
   * unsigned action's `by` is not proven), and only when the policy has a directory.
   */
  closeManagerRoles?: string[];
  /** Continue-as-new after this many history events (default: when the server suggests it, or 10,000). */
  continueAsNewAfterEvents?: number;
  /**
   * Task queue of the reconciliation children (default: the close's own). The worker (workers/main.ts) polls
   * `<task queue>-reconciliation` (or FINFLOW_RECON_TASK_QUEUE) with a second Worker of its own, and `finflow close
   * start|schedule` set this to it unless the plan does: a burst of children then does not queue behind, or in
   * front of, the close's own workflow tasks on one workflow thread.
   */
  reconciliationTaskQueue?: string;
  /** State carried over by continue-as-new; never set by a caller. */
  carried?: CloseCarriedState;
}

/** The legacy slice shape: tasks with {id, kind, config, predecessors} and no owner roles. Still accepted. */
export interface MonthEndCloseInput extends CloseRunOptions {
  company: string;
  period: string;
  owner?: string;
  tasks: CloseTaskSpec[];
}

/** A close plan (domain/close/plan.ts, as written in JSON/YAML) with the run options beside it. */
export type ClosePlanStart = ClosePlanInput & CloseRunOptions;

/**
 * monthEndCloseWorkflow's input: a close plan, or the legacy shape (told apart by its tasks: a plan's tasks name
 * their ownerRole, legacy tasks never do).
 */
export type CloseWorkflowInput = MonthEndCloseInput | ClosePlanStart;

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

/**
 * A reconciliation child's input: either `definition` (the streaming engine: any two sources, hash partitions,
 * result store, reports) or the legacy `a`/`b` TableRef pair (one SQL comparison of two PostgreSQL tables).
 */
export interface ReconciliationInput {
  company: string;
  period: string;
  reconId: string;
  a?: TableRef;
  b?: TableRef;
  /** domain/recon definition (validated by parseDefinition in the workflow). */
  definition?: ReconciliationDefinitionInput;
  /**
   * Hash partitions reconciled as separate activities. Default: from the extracted size (about 100k records per
   * partition, a power of two up to 256), so memory per activity stays flat as sources grow.
   */
  partitions?: number;
  /** yyyy-mm-dd bound to :as_of_date in source queries and used in report names; default the period's last day. */
  asOf?: string;
  /** Partitions reconciled at once (default 2, one per core of a 2-core worker): bounds a worker's memory. */
  maxParallel?: number;
}

/** One report file of a run (reports/<reconId>_<kind>_<date>.<ext>). */
export interface ReconReportRef {
  kind: 'exceptions' | 'summary';
  format: 'xlsx' | 'csv' | 'json';
  path: string;
  sha256: string;
  rows: number;
  /** Sealed at rest with the reconciliation's data key (`finflow report open` gives the clear file). */
  sealed?: boolean;
}

/** Control totals and counts only: records stay in the systems and the result store. */
export interface ReconciliationSummary {
  reconId: string;
  status: 'balanced' | 'exceptions';
  /**
   * `amount` is the side's total when it holds one currency; with several it is the string 'multi-currency' and
   * `totals` holds the amount per currency (adding currencies would be a wrong total).
   */
  a: { records: number; amount: string };
  b: { records: number; amount: string };
  keys: { matched: number; amountMismatch: number; missingInA: number; missingInB: number };
  difference: string;
  // The fields below come from the definition-driven engine only.
  /** Result-store run id (`<workflowId>/<runId>`): where the items and exceptions are. */
  runId?: string;
  partitions?: number;
  matches?: number;
  matchesByRule?: Record<string, number>;
  exceptions?: number;
  openExceptions?: number;
  perCategory?: Record<Category, number>;
  /** 'balanced': records in = matched + unmatched and amount in = matched + unmatched on both sides (checked). */
  controlTotals?: 'balanced';
  totals?: { a: SideTotals; b: SideTotals; differences: CurrencyDifference[] };
  reports?: ReconReportRef[];
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
}

export type DependencyType = 'FS' | 'FF' | 'SS_WARN';

export interface TaskStatus {
  id: string;
  name: string;
  kind: TaskKind;
  state: TaskState;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  result?: ReconciliationSummary;
  /** For kind 'activity': the activity's name. */
  activity?: string;
  ownerRole?: string;
  /** The person the task is assigned to (reassign); absent until someone is named. */
  owner?: string;
  /** The task's deadline instant (ISO, UTC); absent when it has none. */
  deadline?: string;
  expectedDuration?: string;
  doneWhen?: string;
  late?: boolean;
  atRisk?: boolean;
  /** Attempts of the current run (a rerun starts again at 1). */
  attempts?: number;
  /** Why the task cannot go on: its own failure, or the dependency that cannot be met. */
  blockedReason?: string;
  predecessors?: { task: string; type: DependencyType }[];
  /** Set while a waiver is waiting for its approval, and after. */
  waiver?: { checkpointId: string; requestedBy: string; reason?: string; state: 'open' | 'approved' | 'refused' };
  /** What the documentation/report/activity task returned (ids, paths, hashes: small). */
  output?: Record<string, unknown>;
  /** The task was added during the close (action 'add'). */
  added?: boolean;
}

/** One human action on the close, accepted or refused: who, what, when, why. */
export interface CloseJournalEntry {
  at: string;
  by: string;
  action: string;
  taskId?: string;
  reason?: string;
  /** false: the action was refused (`refusal` says why). */
  accepted?: boolean;
  /** Why the close refused the action. */
  refusal?: string;
  note?: string;
  to?: string;
  /** The action came as a verified token: the key and nonce that prove who acted. Absent: `by` is as claimed. */
  signed?: { kid: string; nonce: string; issuer: string };
}

/** A late / at-risk notice written to the approval outbox for a task's owner and the close owner. */
export interface CloseNotification {
  at: string;
  taskId: string;
  kind: 'task_late' | 'task_at_risk';
  recipients: string[];
  roles: string[];
  /** true once the outbox has the row; false with `error` when it could not be written. */
  queued?: boolean;
  error?: string;
}

export interface CloseBlocker {
  task: string;
  /** The task at the root of the trouble (itself when it failed). */
  root: string;
  message: string;
}

export interface CloseStatus {
  closeId: string;
  company: string;
  period: string;
  state: 'running' | 'completed' | 'blocked';
  tasks: TaskStatus[];
  checkpoints: CheckpointStatus[];
  percentDone: number;
  name?: string;
  /** Whoever answers for the close (plan owner). */
  owner?: string;
  /** The close's deadline (ISO, UTC). */
  closeDeadline?: string;
  /** Unfinished tasks, in order, that set the projected end. */
  criticalPath?: string[];
  projectedEnd?: string;
  blockers?: CloseBlocker[];
  paused?: boolean;
  journal?: CloseJournalEntry[];
  /** Fiscal period of the close: start and end dates. */
  periodStart?: string;
  periodEnd?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Runs of this close so far (continue-as-new), 1 for the first. */
  run?: number;
  /** Late / at-risk notices sent. */
  notifications?: CloseNotification[];
  /** Refused actions beyond what the journal keeps. */
  refusalsNotKept?: number;
}

/** The `taskAction` signal / `submitTaskAction` update (COMMON.md contract 2). */
export interface TaskAction {
  action: 'complete' | 'rerun' | 'waive' | 'reassign' | 'skip' | 'add' | 'pause' | 'resume';
  taskId?: string;
  by: string;
  reason?: string;
  /** reassign: the new owner. */
  to?: string;
  /** add: the task to add (a close plan task: id, name, kind, ownerRole, predecessors, ...). */
  task?: CloseTaskInput;
  note?: string;
  /**
   * A task-action token signed by the approval gateway or `finflow task ... --signing-key`: the action is then
   * taken from its verified claims (who, what, which task), and the journal records it as signed.
   */
  token?: string;
}

/** A close plan task as written (domain/close/plan.ts closeTaskSchema input). */
export type CloseTaskInput = ClosePlanInput['tasks'][number];

/** What submitTaskAction answers. */
export interface TaskActionAnswer {
  accepted: boolean;
  action: string;
  taskId?: string;
  message: string;
}

/** The documentation task's activity input (COMMON.md contract 1: produceCloseEvidence). */
export interface CloseEvidenceInput {
  closeWorkflowId: string;
  company: string;
  period: string;
  taskId: string;
  config: Record<string, unknown>;
  reconciliations: ReconciliationSummary[];
  approvals: CheckpointStatus[];
  journal: CloseJournalEntry[];
  closeState?: string;
  startedAt?: string;
  asOf?: string;
}

export interface CloseEvidenceOutput {
  packageId: string;
  path: string;
  manifestSha256: string;
  files: number;
}

/** The report task's activity input (generateCloseReport). */
export interface CloseReportInput {
  closeWorkflowId: string;
  status: CloseStatus;
}

/** What a close carries into its next run when it continues as new. */
export interface CloseCarriedState {
  run: number;
  startedAt: string;
  /** The plan as parsed, tasks added during the close included. */
  plan: ClosePlanInput;
  tasks: TaskStatus[];
  journal: CloseJournalEntry[];
  paused: boolean;
  /** Closed approval checkpoints of earlier runs (their decisions stay in the status). */
  checkpoints: CheckpointStatus[];
  /** Business calendar resolved in the first run (not asked again). */
  calendar?: { weekend?: string[]; closedDays?: string[]; coverage?: { from: string; to: string } };
  notified: string[];
  /** The close was started with the legacy shape (its rules carry over). */
  legacy?: boolean;
  notifications?: CloseNotification[];
  refusalsNotKept?: number;
}

export type CloseResult = CloseStatus;
