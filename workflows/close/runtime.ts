// Small pure helpers of the close orchestrator: retry arithmetic, failure messages, state mapping. Kept apart from
// the loop so each rule reads on its own (the rules of a person's task action are in domain/close/task-actions.ts).
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';
import { durationMs } from '../../domain/duration';
import type { CloseTask } from '../../domain/close/plan';
import type { TaskState as GraphState } from '../../domain/close/task-graph';
import type { TaskState, TaskStatus } from '../types';

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

/**
 * The graph's name for "finished with warnings" is the close's done_with_exceptions; a task cancelled with the
 * close will not finish, which the graph knows as blocked.
 */
export function toGraphState(s: TaskState): GraphState {
  if (s === 'cancelled') return 'blocked';
  return s === 'done_with_exceptions' ? 'done_with_warnings' : s;
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
