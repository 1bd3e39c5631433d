// What a close run holds (issue 19: moved out of workflows/month-end-close.ts, behaviour unchanged): its plan and
// options, the tasks' statuses, the journal, the deadlines, the work under way, and the approval checkpoints. The
// orchestration modules beside this one (task-actions, waivers, deadlines, task-runner) read and change it; every
// change bumps `version`, which the close's loop waits on. Opening a run reads the input (or the carried state of
// the previous run) and installs the approval checkpoints' handlers, as the close always did first.
import { patched, workflowInfo } from '@temporalio/workflow';
import type { BusinessCalendar } from '../../domain/close/business-days';
import { DEFAULT_FISCAL_CALENDAR, parsePeriodKey } from '../../domain/close/fiscal-calendar';
import type { ClosePlan, CloseTask } from '../../domain/close/plan';
import { graphStatus, type GraphPlan, type TaskStates } from '../../domain/close/task-graph';
import { DEFAULT_WAIVER_TEMPLATE, policyWithWaivers, waiverItemType } from '../../domain/close/waiver';
import { attestationsOf } from '../../domain/compliance/attestation';
import { createCheckpoints, type Checkpoints } from '../approval/checkpoints';
import type {
  CheckpointStatus,
  CloseCancellation,
  CloseCancelRequest,
  CloseJournalEntry,
  CloseNotification,
  CloseRunOptions,
  CloseStatus,
  CloseWorkflowInput,
  TaskStatus,
} from '../types';
import { exceptionGateOf, GATE_UPSTREAM_PATCH } from './exception-gate';
import { invalidPlan, normaliseInput } from './input';
import { taskStatusOf, toGraphState } from './runtime';
import { closeStatusView } from './status-view';

export interface CloseRun {
  readonly closeId: string;
  readonly firstExecutionRunId: string;
  readonly options: CloseRunOptions;
  /** The close was started with the legacy slice shape (its rules carry over). */
  readonly legacy: boolean;
  /** Grows when a task is added. */
  plan: ClosePlan;
  specById: Map<string, CloseTask>;
  readonly period: { start: string; end: string };
  readonly run: number;
  readonly startedAt: string;
  readonly tasks: TaskStatus[];
  /** Looked up on every start, completion and action: indexed, so a close of hundreds of tasks pays O(1). */
  readonly taskById: Map<string, TaskStatus>;
  readonly journal: CloseJournalEntry[];
  readonly notifications: CloseNotification[];
  /** `<kind>:<taskId>` of the late / at-risk notices sent (each is sent once). */
  readonly notified: Set<string>;
  /** Closed checkpoints of earlier runs. */
  readonly earlierCheckpoints: CheckpointStatus[];
  refusalsNotKept: number;
  paused: boolean;
  calendar?: BusinessCalendar;
  /** Per-task deadlines, epoch ms. */
  readonly deadlines: Record<string, number>;
  closeDeadline?: { ms: number; iso: string };
  state: CloseStatus['state'];
  finishedAt?: string;
  version: number;
  changesThisRun: number;
  /** Tasks whose work (activity, child, approval, retry wait) is under way. */
  readonly inflight: Set<string>;
  /** Waivers waiting for their approval, by task. */
  readonly waivers: Map<string, Promise<void>>;
  /** Notices being written to the outbox: awaited before the run ends or continues as new. */
  readonly background: Promise<void>[];
  readonly checkpoints: Checkpoints;
  /** The approval policy with a waiver checkpoint per task. */
  readonly policy: unknown;
  readonly waiverTemplate: string;
  readonly waiverItemType?: string;
  /**
   * The close's cancellation (workflows/close/cancellation.ts): requested once Temporal's cancellation request
   * reached the close, the `cancelRequest` note naming who and why, and what the close recorded when it ended.
   */
  readonly cancel: { requested: boolean; request?: CloseCancelRequest; done?: CloseCancellation };
}

export const nowIso = (): string => new Date().toISOString();
export const nowMs = (): number => new Date().getTime();

/** Reads the input, installs the approval checkpoints' handlers and sets up the run's state. */
export function openCloseRun(input: CloseWorkflowInput): CloseRun {
  const { plan, options, legacy } = normaliseInput(input);
  const carried = options.carried;
  const info = workflowInfo();
  let period: { start: string; end: string };
  try {
    period = parsePeriodKey(plan.period, plan.fiscalCalendar ?? DEFAULT_FISCAL_CALENDAR);
  } catch (err) {
    throw invalidPlan(`period: ${(err as Error).message}`);
  }
  const waiverTemplate = options.waiverCheckpoint ?? DEFAULT_WAIVER_TEMPLATE;
  const policy = policyWithWaivers(
    options.approvalPolicy,
    waiverTemplate,
    plan.tasks.map((t) => t.id),
  );
  const itemType = waiverItemType(policy, waiverTemplate);
  const checkpoints = createCheckpoints({
    now: nowIso,
    policy,
    owner: legacy ? (input as { owner?: string }).owner : plan.owner,
    allowUnsignedApprovals: options.allowUnsignedApprovals,
  });
  checkpoints.install();
  const tasks: TaskStatus[] = carried ? carried.tasks : plan.tasks.map((t) => taskStatusOf(t));
  const run: CloseRun = {
    closeId: info.workflowId,
    firstExecutionRunId: info.firstExecutionRunId,
    options,
    legacy,
    plan,
    specById: new Map(plan.tasks.map((t) => [t.id, t])),
    period,
    run: carried ? carried.run : 1,
    startedAt: carried ? carried.startedAt : nowIso(),
    tasks,
    taskById: new Map(tasks.map((t) => [t.id, t])),
    journal: carried ? carried.journal : [],
    notifications: carried?.notifications ?? [],
    notified: new Set<string>(carried?.notified ?? []),
    earlierCheckpoints: carried?.checkpoints ?? [],
    refusalsNotKept: carried?.refusalsNotKept ?? 0,
    paused: carried ? carried.paused : false,
    calendar: carried?.calendar as BusinessCalendar | undefined,
    deadlines: {},
    state: 'running',
    version: 0,
    changesThisRun: 0,
    inflight: new Set<string>(),
    waivers: new Map<string, Promise<void>>(),
    background: [],
    checkpoints,
    policy,
    waiverTemplate,
    waiverItemType: itemType,
    cancel: { requested: false },
  };
  // Approvals of the reconciliations' checkpoints answer to the work on their exceptions (issue 15).
  // Asked in the decision's handler only; histories recorded before the upstream gate replay with direct predecessors.
  checkpoints.gateExceptions((checkpointId) =>
    exceptionGateOf(run, checkpointId, { upstream: patched(GATE_UPSTREAM_PATCH) }),
  );
  return run;
}

/** Records that something changed: the loop looks again, and the run has something to carry on. */
export function bump(r: CloseRun): void {
  r.version++;
  r.changesThisRun++;
}

export const taskOf = (r: CloseRun, id: string): TaskStatus | undefined => r.taskById.get(id);
export const specOf = (r: CloseRun, id: string): CloseTask => r.specById.get(id) as CloseTask;
export const graphPlan = (r: CloseRun): GraphPlan => ({ maxParallel: r.plan.maxParallel, tasks: r.plan.tasks });
export const graphStates = (r: CloseRun): TaskStates =>
  Object.fromEntries(r.tasks.map((t) => [t.id, toGraphState(t.state)]));

function startedAtMs(r: CloseRun): Record<string, number> {
  return Object.fromEntries(
    r.tasks.filter((t) => t.state === 'running' && t.startedAt).map((t) => [t.id, Date.parse(t.startedAt as string)]),
  );
}

/** What the graph needs to schedule the close as it stands at `now` (status and deadline checks alike). */
export function scheduleOptions(r: CloseRun, now: number) {
  return {
    now,
    states: graphStates(r),
    startedAt: startedAtMs(r),
    deadlines: r.deadlines,
    closeDeadline: r.closeDeadline?.ms,
  };
}

export const allCheckpoints = (r: CloseRun): CheckpointStatus[] => [
  ...r.earlierCheckpoints,
  ...r.checkpoints.statuses(),
];
export const usedCheckpoint = (r: CloseRun, id: string): boolean =>
  allCheckpoints(r).some((c) => c.checkpointId === id && c.state !== 'pending');

/** Roles a task has been attested in so far (accepted, signed attest actions). */
export const attestedRoles = (r: CloseRun, taskId: string): string[] =>
  attestationsOf(r.journal, taskId).map((x) => x.role);

export function finishTask(t: TaskStatus, state: 'done' | 'done_with_exceptions'): void {
  t.state = state;
  t.finishedAt = nowIso();
  t.atRisk = false;
}

/** The close's `status` answer. */
export function closeStatus(r: CloseRun): CloseStatus {
  return closeStatusView(graphStatus(graphPlan(r), scheduleOptions(r, nowMs())), {
    closeId: r.closeId,
    plan: r.plan,
    state: r.state,
    tasks: r.tasks,
    checkpoints: allCheckpoints(r),
    paused: r.paused,
    journal: r.journal,
    notifications: r.notifications,
    period: r.period,
    startedAt: r.startedAt,
    run: r.run,
    closeDeadline: r.closeDeadline,
    finishedAt: r.finishedAt,
    refusalsNotKept: r.refusalsNotKept,
    cancellation: r.cancel.done,
  });
}
