// The close's shapes every layer shares: the workflow's input and options, task specs and actions, its status and
// journal, and the evidence and report inputs built from it. Plain JSON-safe shapes only: workflow inputs, results
// and query answers cross the wire and land in history.
import type { AgeingRow } from '../domain/exceptions/ageing';
import type { ApprovalPolicyInput } from '../domain/approval';
import type { ClosePlanInput } from '../domain/close/plan';
import type { ApprovalTaskConfig, CheckpointStatus } from './approval';
import type { ReconciliationSummary, ReconciliationTaskConfig } from './recon';

/** The kinds of a close plan (domain/close/plan.ts TASK_KINDS). */
export type TaskKind =
  'reconciliation' | 'approval' | 'manual' | 'journal_entry' | 'documentation' | 'report' | 'activity';

/**
 * done_with_exceptions: finished with warnings (a reconciliation with exceptions); a FS/FF dependant waits for a
 * waiver or a rerun, a SS_WARN dependant goes on. blocked: failed after its retries, or a dependency can no
 * longer be met (the reason says which). skipped/waived: finished by a person's action (journal says who, why).
 */
export type TaskState =
  | 'pending'
  | 'running'
  | 'done'
  | 'done_with_exceptions'
  | 'blocked'
  | 'failed'
  | 'skipped'
  | 'waived'
  /** The close was cancelled while the task ran (its child, activity or wait was cancelled with it). */
  | 'cancelled';

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
  /**
   * A documentation task waiting for its control's attestation: the exact text to attest (a signed `attest`
   * action carrying it) and the roles still to attest. Absent once given, and for a task that does not wait.
   */
  awaitingAttestation?: { text: string; requiredFrom: string[] };
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
  /** attest: the statement attested (the control's exact text) and, when accepted, the role attested in. */
  statement?: string;
  role?: string;
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
  state: 'running' | 'completed' | 'blocked' | 'cancelled';
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
  /**
   * The close's reconciliations' unresolved exceptions by age since first seen (0-30, 31-60, 61-90, over 90 days)
   * per category and currency, added over the reconciliations that report it (roll-forward, issue 15); each
   * reconciliation's own is in its task's result (rollForward.ageing). Absent when none reports it.
   */
  exceptionAgeing?: AgeingRow[];
  /** Set once the close was cancelled: when, by whom and why, as the `cancelRequest` note said (else by unknown). */
  cancellation?: CloseCancellation;
}

/**
 * The `cancelRequest` signal: who asks the close to stop and why, sent just before Temporal's cancellation request
 * (the request itself carries neither into the workflow). `by` is as claimed: the journal marks it unsigned.
 */
export interface CloseCancelRequest {
  by: string;
  reason?: string;
  /** A task-action token (action 'cancel') signed by `by`: proves who cancelled (client/close-cancel.ts). */
  token?: string;
}

/** How a close ended when it was cancelled. */
export interface CloseCancellation {
  at: string;
  /** The person named by the `cancelRequest` note, or 'unknown' when the request came without one. */
  by: string;
  reason?: string;
  /** Tasks that were running and were cancelled with the close. */
  tasksCancelled: string[];
  /** The note came signed and verified: the key and nonce that prove who cancelled. */
  signed?: { kid: string; nonce: string; issuer: string };
  /** Why `by` stands as claimed (no signed note, or one that did not verify or was not theirs to sign). */
  unproven?: string;
  /** Signed, by someone the close's authority rules do not let cancel it (recorded: the cancellation happened). */
  notAllowed?: string;
}

/** The `taskAction` signal / `submitTaskAction` update (COMMON.md contract 2). */
export interface TaskAction {
  action: 'complete' | 'rerun' | 'waive' | 'reassign' | 'skip' | 'add' | 'pause' | 'resume' | 'attest';
  taskId?: string;
  by: string;
  reason?: string;
  /** reassign: the new owner. */
  to?: string;
  /** add: the task to add (a close plan task: id, name, kind, ownerRole, predecessors, ...). */
  task?: CloseTaskInput;
  note?: string;
  /** attest: the attestation text, exactly as the documentation task's control words it (its status shows it). */
  statement?: string;
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
  /** The status read model's last version (workflows/close/read-model.ts): the next run writes above it. */
  statusVersion?: number;
}

export type CloseResult = CloseStatus;
