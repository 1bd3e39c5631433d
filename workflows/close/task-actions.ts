// People's task actions on the close (issue 19: moved out of workflows/month-end-close.ts, behaviour unchanged):
// the `taskAction` signal and the `submitTaskAction` update (complete, rerun, waive with an approval, reassign,
// skip, add, pause, resume, attest). A signed action is verified first and checked against who may take it; every
// action, accepted or refused, goes in the journal. The rules are domain/close/task-actions.ts and
// action-authority.ts; this module applies what they allow to the run's state.
import { patched, setHandler } from '@temporalio/workflow';
import type { ApprovalActivities } from '../../activities/approval';
import { actionAnswer, journalEntryOf, refusalsFull, unsignedDifference } from '../../domain/close/action-journal';
import { actionAuthorityProblem } from '../../domain/close/action-authority';
import type { ClosePlan, CloseTask } from '../../domain/close/plan';
import { finishBlockers } from '../../domain/close/task-graph';
import { actionShapeProblem, actionStateProblem, addedTaskPlan, type AddedTask } from '../../domain/close/task-actions';
import { attestationRequirement, judgeAttestation } from '../../domain/compliance/attestation';
import { submitTaskActionUpdate, taskActionSignal } from '../definitions';
import type { CloseJournalEntry, TaskAction, TaskActionAnswer, TaskStatus } from '../types';
import { verify } from '../approval/host';
import { ledgerTaskAction } from './action-ledger';
import { failureMessage, taskStatusOf } from './runtime';
import {
  attestedRoles,
  bump,
  finishTask,
  graphPlan,
  graphStates,
  nowIso,
  specOf,
  taskOf,
  usedCheckpoint,
  type CloseRun,
} from './state';
import { openWaiver } from './waivers';

/** patched() id: signed actions other than `complete` are checked against the close managers' roles. */
const SIGNED_ACTION_AUTHORITY = 'signed-action-authority';
/** patched() id: a task added during the close can be waived (with its own waiver checkpoint). */
const WAIVE_ADDED_TASKS = 'waive-added-tasks';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function installTaskActions(r: CloseRun): void {
  setHandler(taskActionSignal, async (a) => {
    await act(r, a);
  });
  setHandler(submitTaskActionUpdate, (a) => act(r, a), {
    validator: (a) => {
      // A signed action's fields are in its token: the handler checks them once the token is verified.
      if (isRecord(a) && typeof a.token === 'string') return;
      const problem = actionShapeProblem(
        a,
        r.tasks.map((t) => t.id),
      );
      if (problem) throw new Error(problem);
    },
  });
}

function record(
  r: CloseRun,
  a: TaskAction,
  accepted: boolean,
  refusal?: string,
  signed?: CloseJournalEntry['signed'],
  role?: string,
): void {
  if (!accepted && refusalsFull(r.journal)) {
    r.refusalsNotKept++;
    return;
  }
  r.journal.push(journalEntryOf(a, accepted, nowIso(), { refusal, signed, role }));
  ledgerTaskAction(r, r.journal.length - 1);
}

/** Why the close's current state does not allow the action (domain/close/task-actions.ts). */
function stateProblem(r: CloseRun, a: TaskAction): string | undefined {
  return actionStateProblem(a, {
    paused: r.paused,
    task: (id) => taskOf(r, id) as TaskStatus,
    spec: (id) => specOf(r, id),
    addProblem: (x) => addProblem(r, x).problem,
    finishBlockers: (id) => finishBlockers(graphPlan(r), graphStates(r), id),
    working: (id) => r.inflight.has(id),
    waiverPending: (id) => r.waivers.has(id),
    checkpointUsed: (id) => usedCheckpoint(r, id),
    waiverTemplate: r.waiverTemplate,
    waiverItemType: r.waiverItemType,
    waivesAddedTasks: () => patched(WAIVE_ADDED_TASKS),
  });
}

function addProblem(r: CloseRun, a: TaskAction): AddedTask {
  return addedTaskPlan(r.plan, a.task, { periodEnd: r.period.end, calendar: r.calendar });
}

function apply(r: CloseRun, a: TaskAction, signed?: CloseJournalEntry['signed']): TaskActionAnswer {
  const shape = actionShapeProblem(
    a,
    r.tasks.map((t) => t.id),
  );
  const problem = shape ?? stateProblem(r, a);
  if (problem) return refuse(r, a, problem, signed);
  const t = a.taskId ? taskOf(r, a.taskId) : undefined;
  let message: string;
  let role: string | undefined;
  if (a.action === 'attest') {
    const task = t as TaskStatus;
    const judged = judgeAttestation({
      taskId: task.id,
      taskKind: task.kind,
      by: a.by,
      roles: r.checkpoints.rolesOf(a.by),
      statement: a.statement,
      signed: signed !== undefined,
      requirement: attestationRequirement(specOf(r, task.id).config),
      attestedRoles: attestedRoles(r, task.id),
    });
    if (!judged.ok) return refuse(r, a, judged.refusal, signed);
    role = judged.role;
    message = `${task.id} is attested by ${a.by} (${role})`;
  } else {
    message = change(r, a, t);
  }
  record(r, a, true, undefined, signed, role);
  bump(r);
  return actionAnswer(a, true, message);
}

/** Applies an allowed action (other than attest) to the run's state; returns what the answer says. */
function change(r: CloseRun, a: TaskAction, t: TaskStatus | undefined): string {
  const task = t as TaskStatus;
  switch (a.action) {
    case 'pause':
      r.paused = true;
      return 'the close is paused: running tasks go on, no new task starts';
    case 'resume':
      r.paused = false;
      return 'the close is resumed';
    case 'complete':
      finishTask(task, 'done');
      return `${a.taskId} is done`;
    case 'rerun':
      task.state = 'pending';
      task.attempts = 0;
      delete task.reason;
      delete task.blockedReason;
      delete task.finishedAt;
      delete task.result;
      delete task.output;
      return `${task.id} will run again`;
    case 'reassign':
      task.owner = a.to as string;
      return `${a.taskId} is assigned to ${a.to}`;
    case 'skip':
      task.state = 'skipped';
      task.reason = `skipped by ${a.by}: ${a.reason}`;
      task.finishedAt = nowIso();
      return `${task.id} is skipped`;
    case 'waive':
      openWaiver(r, task, a);
      return `the waiver of ${a.taskId} waits for its approval on checkpoint waive:${a.taskId}`;
    case 'add':
      return addTask(r, a);
  }
  return `${a.action} accepted`;
}

function addTask(r: CloseRun, a: TaskAction): string {
  const x = addProblem(r, a);
  r.plan = x.plan as ClosePlan;
  r.specById = new Map(r.plan.tasks.map((s) => [s.id, s]));
  const task = x.task as CloseTask;
  const added = taskStatusOf(task, true);
  r.tasks.push(added);
  r.taskById.set(added.id, added);
  if (x.deadline !== undefined) {
    r.deadlines[task.id] = x.deadline;
    (taskOf(r, task.id) as TaskStatus).deadline = new Date(x.deadline).toISOString();
  }
  return `task ${task.id} is added`;
}

/** Refuses an action, and journals the refusal. */
function refuse(r: CloseRun, a: TaskAction, message: string, signed?: CloseJournalEntry['signed']): TaskActionAnswer {
  record(r, a, false, message, signed);
  bump(r);
  return actionAnswer(a, false, message);
}

/**
 * An action with a token is taken from the token's verified claims (who, what, which task); plain fields that
 * say otherwise, a token used before, or one that does not verify are refused. Without a token the action is
 * applied at once, as claimed, unless the close requires signed actions. The unsigned path has no await, so it
 * runs within the handler's own call exactly as before tokens existed.
 */
async function act(r: CloseRun, a: TaskAction): Promise<TaskActionAnswer> {
  if (!isRecord(a) || a.token === undefined) {
    if (r.options.requireSignedTaskActions && isRecord(a))
      return refuse(
        r,
        a,
        'unsigned: this close takes signed task actions only (the approval gateway, or finflow task ... --signing-key)',
      );
    return apply(r, a);
  }
  let v: Awaited<ReturnType<ApprovalActivities['verifyTaskActionSignal']>>;
  try {
    v = await verify.verifyTaskActionSignal({ token: a.token, workflowId: r.closeId, at: nowIso() });
  } catch (err) {
    return refuse(r, a, `the signature could not be checked: ${failureMessage(err)}`);
  }
  if (!v.ok) return refuse(r, { ...a, by: v.claimedBy ?? a.by }, `signature refused (${v.reason}): ${v.message}`);
  const { proof, ...claimed } = v.action;
  const signedAction = claimed as TaskAction;
  const differs = unsignedDifference(a, signedAction);
  if (differs) return refuse(r, signedAction, `the action's "${differs}" differs from what was signed`);
  if (r.journal.some((j) => j.signed?.nonce === proof.nonce))
    return refuse(r, signedAction, `this signed action (nonce ${proof.nonce}) was already used`);
  const signed = { kid: proof.kid, nonce: proof.nonce, issuer: proof.issuer };
  const denied = authorityProblem(r, signedAction);
  if (denied) return refuse(r, signedAction, denied, signed);
  return apply(r, signedAction, signed);
}

/** Whether the proven signer may take the action (domain/close/action-authority.ts). */
function authorityProblem(r: CloseRun, a: TaskAction): string | undefined {
  return actionAuthorityProblem(a, {
    rolesOf: (userId) => r.checkpoints.rolesOf(userId),
    task: a.taskId ? taskOf(r, a.taskId) : undefined,
    planOwner: r.plan.owner,
    closeManagerRoles: r.options.closeManagerRoles,
    checksManagers: () => patched(SIGNED_ACTION_AUTHORITY),
  });
}
