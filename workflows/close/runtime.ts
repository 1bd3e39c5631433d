// Small pure helpers of the close orchestrator: retry arithmetic, failure messages, state mapping, human-action
// validation. Kept apart from the loop so each rule reads on its own.
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';
import { durationMs } from '../../domain/duration';
import type { CloseTask } from '../../domain/close/plan';
import type { TaskState as GraphState } from '../../domain/close/task-graph';
import type { TaskAction, TaskState, TaskStatus } from '../types';

export interface RetryPolicy {
  maximumAttempts: number;
  initialInterval?: string;
  backoffCoefficient?: number;
  maximumInterval?: string;
  nonRetryableErrorTypes?: string[];
}

/** A task without a retry policy gets three attempts: a flaky system gets a second chance, a broken one is reported. */
export const DEFAULT_TASK_RETRY: RetryPolicy = { maximumAttempts: 3, initialInterval: '10s', backoffCoefficient: 2 };

/** Wait before attempt `attempt + 1`, as Temporal's RetryPolicy computes it (maximumInterval default 100x initial). */
export function backoffMs(retry: RetryPolicy, attempt: number): number {
  const initial = durationMs(retry.initialInterval ?? '1s');
  const max = retry.maximumInterval ? durationMs(retry.maximumInterval) : initial * 100;
  return Math.min(max, initial * (retry.backoffCoefficient ?? 2) ** (attempt - 1));
}

function rootCause(err: unknown): unknown {
  if ((err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) && err.cause) return rootCause(err.cause);
  return err;
}

export function failureMessage(err: unknown): string {
  const cause = rootCause(err);
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

/** A business refusal (non-retryable, or of a type the task's policy names) is not tried again. */
export function isNonRetryable(err: unknown, retry: RetryPolicy): boolean {
  const cause = rootCause(err);
  if (!(cause instanceof ApplicationFailure)) return false;
  return (
    cause.nonRetryable || (typeof cause.type === 'string' && (retry.nonRetryableErrorTypes ?? []).includes(cause.type))
  );
}

/** The graph's name for "finished with warnings" is the close's done_with_exceptions. */
export function toGraphState(s: TaskState): GraphState {
  return s === 'done_with_exceptions' ? 'done_with_warnings' : s;
}

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

export function taskStatusOf(t: CloseTask, added = false): TaskStatus {
  const s: TaskStatus = {
    id: t.id,
    name: t.name,
    kind: t.kind,
    state: 'pending',
    ownerRole: t.ownerRole,
    attempts: 0,
    predecessors: t.predecessors.map((p) => ({ task: p.task, type: p.type })),
    late: false,
    atRisk: false,
  };
  if (t.activity) s.activity = t.activity;
  if (t.expectedDuration) s.expectedDuration = t.expectedDuration;
  if (t.doneWhen) s.doneWhen = t.doneWhen;
  if (added) s.added = true;
  return s;
}

/** Keeps what an activity returned only when small: history carries ids and counts, not documents. */
export function smallOutput(v: unknown): Record<string, unknown> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const text = JSON.stringify(v);
  return text.length <= 4096 ? (JSON.parse(text) as Record<string, unknown>) : { truncated: true, bytes: text.length };
}
