// The month-end close: runs a close plan's task graph. Ready tasks start in parallel up to the plan's maxParallel,
// in the order of their dependencies (FS, FF, SS_WARN: domain/close/task-graph.ts decides what may start); each
// kind runs its own way (reconciliation child, approval checkpoint, a person's `complete`, an activity, the
// evidence package, the close report). A failing task is retried per its policy, then blocked with its reason;
// what depends on it is blocked too, while independent branches go on. Deadlines are durable timers: a task with
// no slack left is marked at risk, a task past its deadline late, and its owner and the close owner are told.
// People adapt the close through `taskAction` (complete, rerun, waive with an approval, reassign, skip, add,
// pause, resume); every action, accepted or refused, goes in the journal. The history stays bounded: the close
// continues as new, carrying its state, when the history grows large.
import { defineSearchAttributeKey, SearchAttributeType, type Duration } from '@temporalio/common';
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ApprovalActivities } from '../activities/approval';
import type { createCalendarActivities } from '../activities/calendar';
import type { BusinessCalendar } from '../domain/close/business-days';
import { actionAuthorityProblem } from '../domain/close/action-authority';
import { blockedTimeoutMs, isBlocked, waitForChangeMs } from '../domain/close/blocked-timeout';
import { calendarWindow, resolveDeadline } from '../domain/close/deadline';
import { deadlineLook, deadlineNotice } from '../domain/close/deadline-watch';
import { DEFAULT_FISCAL_CALENDAR, parsePeriodKey } from '../domain/close/fiscal-calendar';
import type { ClosePlan, CloseTask } from '../domain/close/plan';
import {
  actionShapeProblem,
  actionStateProblem,
  addedTaskPlan,
  isFinishedState,
  isPersonTask,
  type AddedTask,
} from '../domain/close/task-actions';
import {
  eligibleTasks,
  finishBlockers,
  graphStatus,
  readyTasks,
  schedule,
  type GraphPlan,
  type TaskStates,
} from '../domain/close/task-graph';
import {
  attestationMissing,
  attestationRequirement,
  attestationsOf,
  judgeAttestation,
} from '../domain/compliance/attestation';
import {
  DEFAULT_WAIVER_TEMPLATE,
  policyWithWaivers,
  waiverApproval,
  waiverCheckpointId,
  waiverDecision,
  waiverItemType,
} from '../domain/close/waiver';
import { reconWorkflowId } from '../domain/ids';
import { createCheckpoints } from './approval/checkpoints';
import { directoryUsers, installExceptionActions } from './close/exception-actions';
import { invalidPlan, normaliseInput } from './close/input';
import { closeStatusView } from './close/status-view';
import {
  DEFAULT_TASK_RETRY,
  backoffMs,
  failureMessage,
  isNonRetryable,
  smallOutput,
  taskStatusOf,
  toGraphState,
  type RetryPolicy,
} from './close/runtime';
import { statusQuery, submitTaskActionUpdate, taskActionSignal } from './definitions';
import type { reconciliationWorkflow } from './reconciliation';
import type {
  ApprovalTaskConfig,
  CheckpointStatus,
  CloseCarriedState,
  CloseEvidenceInput,
  CloseEvidenceOutput,
  CloseJournalEntry,
  CloseNotification,
  CloseReportInput,
  CloseStatus,
  CloseWorkflowInput,
  ReconciliationSummary,
  TaskAction,
  TaskActionAnswer,
  TaskStatus,
} from './types';

export const FINFLOW_COMPANY_KEY = defineSearchAttributeKey('FinflowCompany', SearchAttributeType.KEYWORD);
export const FINFLOW_PERIOD_KEY = defineSearchAttributeKey('FinflowPeriod', SearchAttributeType.KEYWORD);
export const FINFLOW_CLOSE_STATUS_KEY = defineSearchAttributeKey('FinflowCloseStatus', SearchAttributeType.KEYWORD);

type CalendarActivities = ReturnType<typeof createCalendarActivities>;

// Pure computation over bundled data: only a crash fails it, and bad holiday settings are refused non-retryably.
const calendarActivities = proxyActivities<CalendarActivities>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});
// The outbox insert is idempotent by its key; bounded so an outbox down for good is recorded, not waited on.
const notifyActivities = proxyActivities<ApprovalActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 20 },
});

// Verification reads only the worker's key set (a local activity, answered within the workflow task that handles
// the action). Three attempts ride out a worker hiccup; past them the action is refused with that said.
const verifyActivities = proxyLocalActivities<ApprovalActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});

/** A task's activities run one attempt per call: the close's own retry loop counts attempts (shown in status). */
function taskActivities(timeout: Duration) {
  return proxyActivities<Record<string, (input: unknown) => Promise<unknown>>>({
    startToCloseTimeout: timeout,
    retry: { maximumAttempts: 1 },
  });
}

const DEFAULT_CONTINUE_AS_NEW_EVENTS = 10_000;
/** patched() id: signed actions other than `complete` are checked against the close managers' roles. */
const SIGNED_ACTION_AUTHORITY = 'signed-action-authority';
/** patched() id: a task added during the close can be waived (with its own waiver checkpoint). */
const WAIVE_ADDED_TASKS = 'waive-added-tasks';
/** patched() id: a documentation task whose config says awaitAttestation waits for a signed `attest` first. */
const DOCUMENTATION_ATTESTATION = 'documentation-attestation';
const TASK_ACTIVITY_TIMEOUT = '1h';
/** Refused actions beyond this are counted, not kept (a flood of bad signals must not grow the state). */
const MAX_REFUSALS_KEPT = 500;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function monthEndCloseWorkflow(input: CloseWorkflowInput): Promise<CloseStatus> {
  const { plan: parsedPlan, options, legacy } = normaliseInput(input);
  let plan: ClosePlan = parsedPlan;
  const carried: CloseCarriedState | undefined = options.carried;
  const info = workflowInfo();
  const closeId = info.workflowId;
  const nowIso = () => new Date().toISOString();
  const nowMs = () => new Date().getTime();

  const fiscalCalendar = plan.fiscalCalendar ?? DEFAULT_FISCAL_CALENDAR;
  let period: { start: string; end: string };
  try {
    period = parsePeriodKey(plan.period, fiscalCalendar);
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

  // ------------------------------------------------------------------ state
  const run = carried ? carried.run : 1;
  const startedAt = carried ? carried.startedAt : nowIso();
  const tasks: TaskStatus[] = carried ? carried.tasks : plan.tasks.map((t) => taskStatusOf(t));
  const journal: CloseJournalEntry[] = carried ? carried.journal : [];
  const notifications: CloseNotification[] = carried?.notifications ?? [];
  const notified = new Set<string>(carried?.notified ?? []);
  const earlierCheckpoints: CheckpointStatus[] = carried?.checkpoints ?? [];
  let refusalsNotKept = carried?.refusalsNotKept ?? 0;
  let paused = carried ? carried.paused : false;
  let calendar: BusinessCalendar | undefined = carried?.calendar as BusinessCalendar | undefined;
  const deadlines: Record<string, number> = {};
  let closeDeadline: { ms: number; iso: string } | undefined;
  let closeState: CloseStatus['state'] = 'running';
  const ended: { at?: string } = {};
  let version = 0;
  let changesThisRun = 0;
  const bump = () => {
    version++;
    changesThisRun++;
  };
  /** Tasks whose work (activity, child, approval, retry wait) is under way. */
  const inflight = new Set<string>();
  const waivers = new Map<string, Promise<void>>();
  const background: Promise<void>[] = [];

  // Looked up on every start, completion and action: indexed, so a close of hundreds of tasks pays O(1), not O(n).
  const taskById = new Map(tasks.map((t) => [t.id, t]));
  let specById = new Map(plan.tasks.map((t) => [t.id, t]));
  const byId = (id: string): TaskStatus | undefined => taskById.get(id);
  const planTask = (id: string): CloseTask => specById.get(id) as CloseTask;
  const graphPlan = (): GraphPlan => ({ maxParallel: plan.maxParallel, tasks: plan.tasks });
  const states = (): TaskStates => Object.fromEntries(tasks.map((t) => [t.id, toGraphState(t.state)]));
  const startedAtMs = (): Record<string, number> =>
    Object.fromEntries(
      tasks.filter((t) => t.state === 'running' && t.startedAt).map((t) => [t.id, Date.parse(t.startedAt as string)]),
    );
  /** What the graph needs to schedule the close as it stands at `now` (status and deadline checks alike). */
  const scheduleOptions = (now: number) => ({
    now,
    states: states(),
    startedAt: startedAtMs(),
    deadlines,
    closeDeadline: closeDeadline?.ms,
  });
  const allCheckpoints = (): CheckpointStatus[] => [...earlierCheckpoints, ...checkpoints.statuses()];
  const usedCheckpoint = (id: string): boolean =>
    allCheckpoints().some((c) => c.checkpointId === id && c.state !== 'pending');

  installExceptionActions({
    closeId,
    tasks: () => tasks,
    users: () => directoryUsers(policy),
    journal: (e) => journal.push(e),
    nowIso,
    changed: bump,
  });

  // ------------------------------------------------------------------ status
  function status(): CloseStatus {
    return closeStatusView(graphStatus(graphPlan(), scheduleOptions(nowMs())), {
      closeId,
      plan,
      state: closeState,
      tasks,
      checkpoints: allCheckpoints(),
      paused,
      journal,
      notifications,
      period,
      startedAt,
      run,
      closeDeadline,
      finishedAt: ended.at,
      refusalsNotKept,
    });
  }
  setHandler(statusQuery, status);

  // ------------------------------------------------------------------ journal and actions
  function record(
    a: TaskAction,
    accepted: boolean,
    refusal?: string,
    signed?: CloseJournalEntry['signed'],
    role?: string,
  ): void {
    if (!accepted && journal.filter((j) => j.accepted === false).length >= MAX_REFUSALS_KEPT) {
      refusalsNotKept++;
      return;
    }
    const e: CloseJournalEntry = {
      at: nowIso(),
      by: typeof a?.by === 'string' ? a.by : '(unknown)',
      action: typeof a?.action === 'string' ? a.action : '(malformed)',
      accepted,
    };
    if (typeof a?.taskId === 'string') e.taskId = a.taskId;
    else if (a?.action === 'add' && isRecord(a.task) && typeof a.task.id === 'string') e.taskId = a.task.id;
    if (typeof a?.reason === 'string') e.reason = a.reason;
    if (typeof a?.note === 'string') e.note = a.note;
    if (typeof a?.to === 'string') e.to = a.to;
    if (refusal) e.refusal = refusal;
    if (signed) e.signed = signed;
    if (a?.action === 'attest' && typeof a.statement === 'string') e.statement = a.statement;
    if (role) e.role = role;
    journal.push(e);
  }

  /** Why the close's current state does not allow the action (domain/close/task-actions.ts). */
  function stateProblem(a: TaskAction): string | undefined {
    return actionStateProblem(a, {
      paused,
      task: (id) => byId(id) as TaskStatus,
      spec: planTask,
      addProblem: (x) => addProblem(x).problem,
      finishBlockers: (id) => finishBlockers(graphPlan(), states(), id),
      working: (id) => inflight.has(id),
      waiverPending: (id) => waivers.has(id),
      checkpointUsed: usedCheckpoint,
      waiverTemplate,
      waiverItemType: itemType,
      waivesAddedTasks: () => patched(WAIVE_ADDED_TASKS),
    });
  }

  function addProblem(a: TaskAction): AddedTask {
    return addedTaskPlan(plan, a.task, { periodEnd: period.end, calendar });
  }

  function apply(a: TaskAction, signed?: CloseJournalEntry['signed']): TaskActionAnswer {
    const shape = actionShapeProblem(
      a,
      tasks.map((t) => t.id),
    );
    const problem = shape ?? stateProblem(a);
    if (problem) return refuse(a, problem, signed);
    const now = nowIso();
    const t = a.taskId ? byId(a.taskId) : undefined;
    let message = `${a.action} accepted`;
    let role: string | undefined;
    switch (a.action) {
      case 'attest': {
        const task = t as TaskStatus;
        const judged = judgeAttestation({
          taskId: task.id,
          taskKind: task.kind,
          by: a.by,
          roles: checkpoints.rolesOf(a.by),
          statement: a.statement,
          signed: signed !== undefined,
          requirement: attestationRequirement(planTask(task.id).config),
          attestedRoles: attestedRoles(task.id),
        });
        if (!judged.ok) return refuse(a, judged.refusal, signed);
        role = judged.role;
        message = `${task.id} is attested by ${a.by} (${role})`;
        break;
      }
      case 'pause':
        paused = true;
        message = 'the close is paused: running tasks go on, no new task starts';
        break;
      case 'resume':
        paused = false;
        message = 'the close is resumed';
        break;
      case 'complete':
        finishTask(t as TaskStatus, 'done');
        message = `${a.taskId} is done`;
        break;
      case 'rerun': {
        const task = t as TaskStatus;
        task.state = 'pending';
        task.attempts = 0;
        delete task.reason;
        delete task.blockedReason;
        delete task.finishedAt;
        delete task.result;
        delete task.output;
        message = `${task.id} will run again`;
        break;
      }
      case 'reassign':
        (t as TaskStatus).owner = a.to as string;
        message = `${a.taskId} is assigned to ${a.to}`;
        break;
      case 'skip': {
        const task = t as TaskStatus;
        task.state = 'skipped';
        task.reason = `skipped by ${a.by}: ${a.reason}`;
        task.finishedAt = now;
        message = `${task.id} is skipped`;
        break;
      }
      case 'waive':
        openWaiver(t as TaskStatus, a);
        message = `the waiver of ${a.taskId} waits for its approval on checkpoint waive:${a.taskId}`;
        break;
      case 'add': {
        const r = addProblem(a);
        plan = r.plan as ClosePlan;
        specById = new Map(plan.tasks.map((x) => [x.id, x]));
        const task = r.task as CloseTask;
        const added = taskStatusOf(task, true);
        tasks.push(added);
        taskById.set(added.id, added);
        if (r.deadline !== undefined) {
          deadlines[task.id] = r.deadline;
          (byId(task.id) as TaskStatus).deadline = new Date(r.deadline).toISOString();
        }
        message = `task ${task.id} is added`;
        break;
      }
    }
    record(a, true, undefined, signed, role);
    bump();
    return answerOf(a, true, message);
  }

  /** Roles a task has been attested in so far (accepted, signed attest actions). */
  function attestedRoles(taskId: string): string[] {
    return attestationsOf(journal, taskId).map((x) => x.role);
  }

  /** Refuses an action, and journals the refusal. */
  function refuse(a: TaskAction, message: string, signed?: CloseJournalEntry['signed']): TaskActionAnswer {
    record(a, false, message, signed);
    bump();
    return answerOf(a, false, message);
  }

  function answerOf(a: TaskAction, accepted: boolean, message: string): TaskActionAnswer {
    const r: TaskActionAnswer = { accepted, action: String(a?.action), message };
    if (typeof a?.taskId === 'string') r.taskId = a.taskId;
    return r;
  }

  /**
   * An action with a token is taken from the token's verified claims (who, what, which task); plain fields that
   * say otherwise, a token used before, or one that does not verify are refused. Without a token the action is
   * applied at once, as claimed, unless the close requires signed actions. The unsigned path has no await, so it
   * runs within the handler's own call exactly as before tokens existed.
   */
  async function act(a: TaskAction): Promise<TaskActionAnswer> {
    if (!isRecord(a) || a.token === undefined) {
      if (options.requireSignedTaskActions && isRecord(a))
        return refuse(
          a,
          'unsigned: this close takes signed task actions only (the approval gateway, or finflow task ... --signing-key)',
        );
      return apply(a);
    }
    let v: Awaited<ReturnType<ApprovalActivities['verifyTaskActionSignal']>>;
    try {
      v = await verifyActivities.verifyTaskActionSignal({ token: a.token, workflowId: closeId, at: nowIso() });
    } catch (err) {
      return refuse(a, `the signature could not be checked: ${failureMessage(err)}`);
    }
    if (!v.ok) return refuse({ ...a, by: v.claimedBy ?? a.by }, `signature refused (${v.reason}): ${v.message}`);
    const { proof, ...claimed } = v.action;
    const signedAction = claimed as TaskAction;
    for (const k of ['action', 'taskId', 'by', 'reason', 'to', 'note', 'statement'] as const)
      if (a[k] !== undefined && a[k] !== signedAction[k])
        return refuse(signedAction, `the action's "${k}" differs from what was signed`);
    if (journal.some((j) => j.signed?.nonce === proof.nonce))
      return refuse(signedAction, `this signed action (nonce ${proof.nonce}) was already used`);
    const signed = { kid: proof.kid, nonce: proof.nonce, issuer: proof.issuer };
    const denied = authorityProblem(signedAction);
    if (denied) return refuse(signedAction, denied, signed);
    return apply(signedAction, signed);
  }

  /** Whether the proven signer may take the action (domain/close/action-authority.ts). */
  function authorityProblem(a: TaskAction): string | undefined {
    return actionAuthorityProblem(a, {
      rolesOf: (userId) => checkpoints.rolesOf(userId),
      task: a.taskId ? byId(a.taskId) : undefined,
      planOwner: plan.owner,
      closeManagerRoles: options.closeManagerRoles,
      checksManagers: () => patched(SIGNED_ACTION_AUTHORITY),
    });
  }

  setHandler(taskActionSignal, async (a) => {
    await act(a);
  });
  setHandler(submitTaskActionUpdate, (a) => act(a), {
    validator: (a) => {
      // A signed action's fields are in its token: the handler checks them once the token is verified.
      if (isRecord(a) && typeof a.token === 'string') return;
      const problem = actionShapeProblem(
        a,
        tasks.map((t) => t.id),
      );
      if (problem) throw new Error(problem);
    },
  });

  function openWaiver(t: TaskStatus, a: TaskAction): void {
    const checkpointId = waiverCheckpointId(t.id);
    // A task added during the close gets its waiver checkpoint now, from the same template as the plan's tasks (a
    // later run of the close gets it at its start, from the carried plan).
    if (t.added) checkpoints.addFromTemplate(checkpointId, waiverTemplate);
    t.waiver = { checkpointId, requestedBy: a.by, state: 'open' };
    if (a.reason) t.waiver.reason = a.reason;
    const config = waiverApproval({ task: t, by: a.by, reason: a.reason, closeId, itemType });
    const p = (async () => {
      let outcome: { state: string; reason?: string };
      try {
        outcome = await checkpoints.run(config);
      } catch (err) {
        if (isCancellation(err)) throw err;
        outcome = { state: 'refused', reason: failureMessage(err) };
      }
      const waiver = t.waiver as NonNullable<TaskStatus['waiver']>;
      const deciders = (checkpoints.statuses().find((c) => c.checkpointId === checkpointId)?.decisions ?? []).map(
        (d) => d.approverId,
      );
      const decision = waiverDecision({ taskId: t.id, by: a.by, reason: a.reason }, outcome, deciders, nowIso());
      if (decision.approved) {
        waiver.state = 'approved';
        t.state = 'waived';
        t.reason = decision.taskReason;
        t.finishedAt = nowIso();
      } else {
        waiver.state = 'refused';
      }
      journal.push(decision.entry);
    })().finally(() => {
      waivers.delete(t.id);
      bump();
    });
    waivers.set(t.id, p);
  }

  // ------------------------------------------------------------------ deadlines
  async function resolveDeadlines(): Promise<void> {
    const exprs = [...plan.tasks.map((t) => t.deadline), plan.deadline].filter((d): d is string => !!d);
    if (exprs.length === 0) return;
    if (!calendar) {
      const window = calendarWindow(period.start, period.end, exprs);
      try {
        calendar = await calendarActivities.resolveBusinessCalendar({
          holidays: plan.holidays ?? {},
          from: window.from,
          to: window.to,
        });
      } catch (err) {
        if (isCancellation(err)) throw err;
        throw invalidPlan(`holidays: ${failureMessage(err)}`);
      }
    }
    const ctx = { periodEnd: period.end, calendar, cutoff: plan.cutoff };
    try {
      for (const t of plan.tasks)
        if (t.deadline) {
          const r = resolveDeadline(t.deadline, ctx);
          deadlines[t.id] = r.dueAtMs;
          (byId(t.id) as TaskStatus).deadline = r.dueAt;
        }
      if (plan.deadline) {
        const r = resolveDeadline(plan.deadline, ctx);
        closeDeadline = { ms: r.dueAtMs, iso: r.dueAt };
      }
    } catch (err) {
      throw invalidPlan(`deadline: ${(err as Error).message}`);
    }
  }

  function notify(t: TaskStatus, kind: 'task_late' | 'task_at_risk'): void {
    const key = `${kind}:${t.id}`;
    if (notified.has(key)) return;
    notified.add(key);
    const { recipients, due, subject } = deadlineNotice(kind, t, {
      closeId,
      owner: plan.owner,
      deadline: closeDeadline?.iso,
    });
    const n: CloseNotification = { at: nowIso(), taskId: t.id, kind, recipients, roles: [t.ownerRole ?? ''] };
    notifications.push(n);
    background.push(
      notifyActivities
        .enqueueApprovalNotification({
          workflowId: closeId,
          runId: info.firstExecutionRunId,
          checkpointId: `task:${t.id}`,
          round: 1,
          kind,
          level: 0,
          recipients,
          roles: t.ownerRole ? [t.ownerRole] : [],
          subject,
          body: { closeId, taskId: t.id, state: t.state, deadline: due ?? null },
        })
        .then(
          () => {
            n.queued = true;
          },
          (err: unknown) => {
            if (isCancellation(err)) throw err;
            n.queued = false;
            n.error = failureMessage(err);
          },
        ),
    );
  }

  /** Marks late and at-risk tasks (and tells their owners); returns when to look again, epoch ms. */
  function checkDeadlines(): number | undefined {
    if (Object.keys(deadlines).length === 0 && !closeDeadline) return undefined;
    const now = nowMs();
    const sched = schedule(graphPlan(), scheduleOptions(now));
    const look = deadlineLook(
      sched.tasks,
      (id) => {
        const t = byId(id) as TaskStatus;
        return { id, late: t.late, atRisk: t.atRisk, finished: isFinishedState(t.state) };
      },
      { deadlines, closeDeadline: closeDeadline?.ms, now },
    );
    for (const c of look.changes) {
      const t = byId(c.id) as TaskStatus;
      if (c.late) t.late = true;
      t.atRisk = c.atRisk;
      if (c.notice) notify(t, c.notice);
      bump();
    }
    return look.next;
  }

  // ------------------------------------------------------------------ running tasks
  function finishTask(t: TaskStatus, state: 'done' | 'done_with_exceptions'): void {
    t.state = state;
    t.finishedAt = nowIso();
    t.atRisk = false;
  }

  function blockTask(t: TaskStatus, reason: string, failed = false): void {
    // The legacy shape reported a task whose work failed as 'failed' (and its callers read that state).
    t.state = failed && legacy ? 'failed' : 'blocked';
    t.reason = reason;
    t.finishedAt = nowIso();
  }

  async function execute(t: TaskStatus, spec: CloseTask): Promise<'done' | 'done_with_exceptions'> {
    const config = spec.config;
    switch (spec.kind) {
      case 'reconciliation': {
        const reconId = typeof config.reconId === 'string' ? config.reconId : spec.id;
        const summary = await executeChild<typeof reconciliationWorkflow>('reconciliationWorkflow', {
          workflowId: reconWorkflowId(plan.company, plan.period, reconId),
          args: [{ company: plan.company, period: plan.period, ...config, reconId }],
          // Without the option the child runs on the close's own task queue, as it always has (same command).
          ...(options.reconciliationTaskQueue ? { taskQueue: options.reconciliationTaskQueue } : {}),
        });
        t.result = summary;
        return summary.status === 'balanced' ? 'done' : 'done_with_exceptions';
      }
      case 'documentation': {
        // The attestation is captured, not pre-written: the package waits for a signed `attest` carrying the
        // control's exact text from a holder of each required role. Histories recorded before this never waited.
        const required = attestationRequirement(config);
        if (required?.awaits && patched(DOCUMENTATION_ATTESTATION)) {
          const missing = () => attestationMissing(required, attestedRoles(t.id));
          if (missing().length) {
            t.awaitingAttestation = { text: required.text, requiredFrom: missing() };
            bump();
            await condition(() => missing().length === 0);
            delete t.awaitingAttestation;
            bump();
          }
        }
        const evidence: CloseEvidenceInput = {
          closeWorkflowId: closeId,
          company: plan.company,
          period: plan.period,
          taskId: spec.id,
          config,
          reconciliations: tasks.map((x) => x.result).filter((r): r is ReconciliationSummary => !!r),
          approvals: allCheckpoints(),
          journal,
          closeState: 'running',
          startedAt,
        };
        const out = (await taskActivities(TASK_ACTIVITY_TIMEOUT).produceCloseEvidence(
          evidence,
        )) as CloseEvidenceOutput & {
          allControlsHeld?: boolean;
        };
        t.output = smallOutput(out);
        return out.allControlsHeld === false ? 'done_with_exceptions' : 'done';
      }
      case 'report': {
        const report: CloseReportInput = { closeWorkflowId: closeId, status: status() };
        t.output = smallOutput(await taskActivities(TASK_ACTIVITY_TIMEOUT).generateCloseReport(report));
        return 'done';
      }
      case 'activity': {
        const out = await taskActivities(TASK_ACTIVITY_TIMEOUT)[spec.activity as string]({
          company: plan.company,
          period: plan.period,
          taskId: spec.id,
          config,
        });
        t.output = smallOutput(out);
        const warned =
          isRecord(out) && (out.status === 'exceptions' || (Array.isArray(out.warnings) && out.warnings.length > 0));
        return warned ? 'done_with_exceptions' : 'done';
      }
    }
    throw ApplicationFailure.nonRetryable(
      `task ${spec.id}: kind ${spec.kind} is not run by an activity`,
      'InvalidClosePlan',
    );
  }

  /**
   * Runs a task's work and takes it out of `inflight` when it ends, however it ends. The bookkeeping is in this
   * function's own `finally`, not a `.finally()` on its promise: every promise the close creates costs a stack
   * trace (the SDK records one per promise for the stack-trace query), and a burst of completions multiplies it.
   */
  async function runTask(t: TaskStatus, spec: CloseTask): Promise<void> {
    try {
      if (spec.kind === 'approval') {
        t.attempts = 1;
        try {
          const outcome = await checkpoints.run(spec.config as unknown as ApprovalTaskConfig);
          if (outcome.state === 'approved') finishTask(t, 'done');
          else blockTask(t, outcome.reason ?? `approval ${outcome.state}`);
        } catch (err) {
          if (isCancellation(err)) throw err;
          blockTask(t, failureMessage(err));
        }
        return;
      }
      // The legacy shape ran each task once; a plan task without a policy gets DEFAULT_TASK_RETRY.
      const retry: RetryPolicy = spec.retry ?? (legacy ? { maximumAttempts: 1 } : DEFAULT_TASK_RETRY);
      for (let attempt = 1; ; attempt++) {
        t.attempts = attempt;
        bump();
        let outcome: 'done' | 'done_with_exceptions';
        try {
          outcome = await execute(t, spec);
        } catch (err) {
          if (isCancellation(err)) throw err;
          const message = failureMessage(err);
          if (attempt >= retry.maximumAttempts || isNonRetryable(err, retry)) {
            blockTask(
              t,
              legacy ? message : `failed after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${message}`,
              true,
            );
            return;
          }
          t.reason = `attempt ${attempt} failed: ${message}; retrying`;
          bump();
          await sleep(backoffMs(retry, attempt));
          continue;
        }
        delete t.reason;
        // A finish-to-finish predecessor holds the task open until it has finished cleanly itself. Only a task with
        // one asks the graph: the question costs O(tasks), and a burst of completions would pay it once each.
        if (spec.predecessors.some((p) => p.type === 'FF') && finishBlockers(graphPlan(), states(), t.id).length) {
          t.reason = `finished its work; waits for ${finishBlockers(graphPlan(), states(), t.id).join(', ')} to finish (FF)`;
          bump();
          await condition(() => finishBlockers(graphPlan(), states(), t.id).length === 0);
          delete t.reason;
        }
        finishTask(t, outcome);
        return;
      }
    } finally {
      inflight.delete(t.id);
      bump();
    }
  }

  function start(id: string): void {
    const t = byId(id) as TaskStatus;
    const spec = planTask(id);
    t.state = 'running';
    t.startedAt = nowIso();
    t.attempts = 0;
    delete t.finishedAt;
    bump();
    if (isPersonTask(spec.kind)) return; // waits for its owner's `complete`
    inflight.add(id);
    // Not awaited: the loop goes on starting tasks. A rejection (a bug, not a task failure: those are caught
    // inside) stays unhandled and fails the workflow task, as it did when the promise was kept in a map.
    void runTask(t, spec);
  }

  // ------------------------------------------------------------------ search attributes
  let lastUpserted: string | undefined;
  function upsertAttributes(): void {
    if (!options.searchAttributes) return;
    const value = paused && closeState === 'running' ? 'paused' : closeState;
    if (value === lastUpserted) return;
    lastUpserted = value;
    upsertSearchAttributes([
      { key: FINFLOW_COMPANY_KEY, value: plan.company },
      { key: FINFLOW_PERIOD_KEY, value: plan.period },
      { key: FINFLOW_CLOSE_STATUS_KEY, value },
    ]);
  }

  function continueAsNewDue(): boolean {
    const i = workflowInfo();
    const limit = options.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_EVENTS;
    // A run that has changed nothing yet would only hand the same state on again (and again, with a low limit).
    return changesThisRun > 0 && (i.continueAsNewSuggested || i.historyLength >= limit);
  }

  // ------------------------------------------------------------------ the loop
  await resolveDeadlines();
  upsertAttributes();
  changesThisRun = 0;
  // The legacy shape ended as soon as nothing more could run; a plan waits for a person to rerun, waive or skip.
  let blockedMs: number;
  try {
    blockedMs = blockedTimeoutMs(options.blockedTimeout, legacy);
  } catch (err) {
    throw invalidPlan(`blockedTimeout: ${(err as Error).message}`);
  }
  let stuckSince: number | undefined;
  for (;;) {
    const wakeAt = checkDeadlines();
    if (!paused) for (const id of readyTasks(graphPlan(), states())) start(id);
    if (tasks.every((t) => isFinishedState(t.state))) {
      closeState = 'completed';
      break;
    }
    const stuck = isBlocked({
      paused,
      working: inflight.size,
      waiting: waivers.size,
      running: tasks.some((t) => t.state === 'running'),
      eligible: () => eligibleTasks(graphPlan(), states()).length,
    });
    closeState = stuck ? 'blocked' : 'running';
    stuckSince = stuck ? (stuckSince ?? nowMs()) : undefined;
    upsertAttributes();
    if (stuck && nowMs() >= (stuckSince as number) + blockedMs) break;

    if (inflight.size === 0 && waivers.size === 0 && continueAsNewDue()) {
      await condition(allHandlersFinished);
      await Promise.all(background);
      const next: CloseCarriedState = {
        run: run + 1,
        startedAt,
        plan,
        tasks,
        journal,
        paused,
        checkpoints: allCheckpoints().filter((c) => c.state !== 'pending'),
        notified: [...notified],
        notifications,
        refusalsNotKept,
        legacy,
      };
      if (calendar) next.calendar = calendar as CloseCarriedState['calendar'];
      await continueAsNew<typeof monthEndCloseWorkflow>({
        ...options,
        company: plan.company,
        period: plan.period,
        tasks: [],
        carried: next,
      });
    }

    const seen = version;
    const wait = waitForChangeMs(nowMs(), wakeAt, stuck ? (stuckSince as number) + blockedMs : undefined);
    if (wait === undefined) await condition(() => version !== seen);
    else await condition(() => version !== seen, wait);
  }
  ended.at = nowIso();
  upsertAttributes();
  await Promise.all(background);
  return status();
}
