// The rules of a person's task action on a close (issue 19: moved out of workflows/month-end-close.ts and
// workflows/close/runtime.ts, behaviour unchanged): whether its shape is an action, whether the close's state allows
// it now, and what adding a task makes of the plan. Pure: the close hands in what it holds and applies what is
// allowed; a refusal's message says why, in the words the journal and the caller see.
import type { TaskAction, TaskState, TaskStatus } from '../../contracts/close';
import type { BusinessCalendar } from './business-days';
import { resolveDeadline } from './deadline';
import { parseClosePlan, type ClosePlan, type CloseTask } from './plan';

export const FINISHED_STATES: readonly TaskState[] = ['done', 'done_with_exceptions', 'skipped', 'waived'];
export const isFinishedState = (s: TaskState): boolean => FINISHED_STATES.includes(s);
/** Kinds that wait for their owner's `complete`. */
export const isPersonTask = (kind: string): boolean => kind === 'manual' || kind === 'journal_entry';

export const TASK_ACTIONS = [
  'complete',
  'rerun',
  'waive',
  'reassign',
  'skip',
  'add',
  'pause',
  'resume',
  'attest',
] as const;

/**
 * Checks that need no state beyond the task list: the shape of the action and that its task exists. The update's
 * validator runs this (a refused update leaves no trace in history); the signal records a refusal in the journal.
 */
export function actionShapeProblem(a: TaskAction, taskIds: readonly string[]): string | undefined {
  if (typeof a !== 'object' || a === null) return 'a task action is an object {action, taskId, by, ...}';
  if (!(TASK_ACTIONS as readonly string[]).includes(a.action))
    return `unknown action ${JSON.stringify(a.action)}: one of ${TASK_ACTIONS.join(', ')}`;
  if (typeof a.by !== 'string' || a.by.trim() === '') return `action ${a.action} needs "by": who acts`;
  if (a.action === 'pause' || a.action === 'resume') return undefined;
  if (a.action === 'add') {
    if (typeof a.task !== 'object' || a.task === null) return 'action add needs "task": the task to add';
    const id = (a.task as { id?: unknown }).id;
    if (typeof id === 'string' && taskIds.includes(id)) return `task ${id} already exists`;
    return undefined;
  }
  if (typeof a.taskId !== 'string' || a.taskId === '') return `action ${a.action} needs "taskId"`;
  if (!taskIds.includes(a.taskId)) return `unknown task ${JSON.stringify(a.taskId)}`;
  if (a.action === 'reassign' && (typeof a.to !== 'string' || a.to.trim() === ''))
    return 'action reassign needs "to": the new owner';
  if (a.action === 'attest' && (typeof a.statement !== 'string' || a.statement === ''))
    return 'action attest needs "statement": the exact attestation text the task shows';
  if ((a.action === 'skip' || a.action === 'waive') && (typeof a.reason !== 'string' || a.reason.trim() === ''))
    return `action ${a.action} needs a "reason" (it goes in the close's journal and evidence)`;
  return undefined;
}

/** What the close holds that decides whether an action of a good shape is allowed now. */
export interface CloseActionView {
  paused: boolean;
  task(id: string): TaskStatus;
  spec(id: string): Pick<CloseTask, 'kind' | 'config'>;
  /** Why the action's task cannot be added (addedTaskPlan's problem). */
  addProblem(a: TaskAction): string | undefined;
  /** Finish-to-finish predecessors that have not finished cleanly. */
  finishBlockers(id: string): string[];
  /** The task's work (activity, child, approval, retry wait) is under way. */
  working(id: string): boolean;
  waiverPending(id: string): boolean;
  /** The approval checkpoint has opened in this close (it opens once). */
  checkpointUsed(checkpointId: string): boolean;
  waiverTemplate: string;
  /** The waiver template's item type; undefined when the policy has no template (no waiver possible). */
  waiverItemType?: string;
  /** Tasks added during the close can be waived (a patched() marker: asked only when one is). */
  waivesAddedTasks(): boolean;
}

/** Why the close's current state does not allow the action; undefined when it does. */
export function actionStateProblem(a: TaskAction, v: CloseActionView): string | undefined {
  if (a.action === 'pause') return v.paused ? 'the close is already paused' : undefined;
  if (a.action === 'resume') return v.paused ? undefined : 'the close is not paused';
  if (a.action === 'add') return v.addProblem(a);
  const t = v.task(a.taskId as string);
  const spec = v.spec(t.id);
  const finished = isFinishedState(t.state);
  switch (a.action) {
    case 'complete':
      return completeProblem(t, spec.kind, v);
    case 'rerun':
      if (t.state !== 'blocked' && t.state !== 'failed' && t.state !== 'done_with_exceptions')
        return `only a blocked, failed or done-with-exceptions task is rerun; ${t.id} is ${t.state}`;
      if (v.waiverPending(t.id)) return `a waiver of ${t.id} is waiting for its approval`;
      if (spec.kind === 'approval' && v.checkpointUsed(String(spec.config.checkpointId)))
        return `approval checkpoint ${String(spec.config.checkpointId)} opens once per close: waive or skip ${t.id} instead`;
      return undefined;
    case 'waive':
      return waiveProblem(t, finished, v);
    case 'reassign':
      return finished ? `${t.id} is already ${t.state}` : undefined;
    case 'attest':
      if (spec.kind === 'documentation' && !t.awaitingAttestation)
        return `${t.id} is ${t.state} and waits for no attestation: it is attested while its status shows the text to attest`;
      return undefined;
    case 'skip':
      if (finished) return `${t.id} is already ${t.state}`;
      if (v.working(t.id)) return `${t.id} is running: wait for it to finish or fail, then skip it`;
      if (v.waiverPending(t.id)) return `a waiver of ${t.id} is waiting for its approval`;
      return undefined;
  }
  return undefined;
}

function completeProblem(t: TaskStatus, kind: string, v: CloseActionView): string | undefined {
  if (!isPersonTask(kind)) return `${t.id} is a task of kind ${kind}: it completes by itself`;
  if (t.state !== 'running')
    return t.state === 'pending' ? `${t.id} has not started: its predecessors are not done` : `${t.id} is ${t.state}`;
  const ff = v.finishBlockers(t.id);
  if (ff.length) return `${t.id} may not finish before ${ff.join(', ')} (finish-to-finish)`;
  return undefined;
}

function waiveProblem(t: TaskStatus, finished: boolean, v: CloseActionView): string | undefined {
  if (finished && t.state !== 'done_with_exceptions') return `${t.id} is already ${t.state}`;
  if (t.state === 'running' || v.working(t.id)) return `${t.id} is running: wait for it to finish or fail`;
  if (v.waiverPending(t.id)) return `a waiver of ${t.id} is already waiting for its approval`;
  if (!v.waiverItemType)
    return `a waiver needs an approval: the close's approvalPolicy has no checkpoint "${v.waiverTemplate}" to approve waivers`;
  // Closes started before waivers of added tasks existed refused them here; their histories replay that way.
  if (t.added && !v.waivesAddedTasks())
    return `${t.id} was added during the close and has no waiver checkpoint: skip it with a reason`;
  if (v.checkpointUsed(`waive:${t.id}`)) return `${t.id} has had its waiver decided (checkpoint waive:${t.id})`;
  return undefined;
}

export interface AddedTask {
  problem?: string;
  plan?: ClosePlan;
  task?: CloseTask;
  /** The added task's deadline, epoch ms, resolved on the close's business calendar. */
  deadline?: number;
}

/**
 * The plan with the task added at its end, checked as a whole plan is; a task with a deadline needs the business
 * calendar the close resolved at its start (a close without deadlines resolved none).
 */
export function addedTaskPlan(
  plan: ClosePlan,
  task: unknown,
  ctx: { periodEnd: string; calendar?: BusinessCalendar },
): AddedTask {
  let next: ClosePlan;
  try {
    next = parseClosePlan({ ...plan, tasks: [...plan.tasks, task] }, 'with the added task');
  } catch (err) {
    return { problem: (err as Error).message };
  }
  const added = next.tasks[next.tasks.length - 1];
  let deadline: number | undefined;
  if (added.deadline) {
    if (!ctx.calendar)
      return { problem: `task ${added.id}: this close resolved no business calendar, so it takes no deadline` };
    try {
      deadline = resolveDeadline(added.deadline, {
        periodEnd: ctx.periodEnd,
        calendar: ctx.calendar,
        cutoff: plan.cutoff,
      }).dueAtMs;
    } catch (err) {
      return { problem: `task ${added.id}: deadline ${added.deadline}: ${(err as Error).message}` };
    }
  }
  return { plan: next, task: added, deadline };
}
