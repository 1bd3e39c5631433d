// The seed's results from a close's status: what a caller of `execution.getResults()` reads (status, how many items
// the reconciliations processed and matched, how many exceptions, where the compliance documentation is, the state
// of the close task it integrates with). Pure: computed from the CloseStatus the workflow reports.
import type { CloseStatus, ReconciliationSummary, TaskStatus } from '../../workflows/types';

/** The state of a workflow that ended without a close status. */
export type EndedState = 'cancelled' | 'failed' | 'terminated' | 'timed_out';

export interface ReconciliationResult {
  taskId: string;
  reconId: string;
  /** balanced, or exceptions. */
  status: ReconciliationSummary['status'];
  itemsProcessed: number;
  matchedItems: number;
  exceptions: number;
  /** Side a's total minus side b's, a decimal string (per currency in `summary.totals`). */
  difference: string;
  reports: string[];
  summary: ReconciliationSummary;
}

export interface ExecutionResults {
  /** The close's workflow id. */
  id: string;
  /** running, completed, blocked (waiting for a person), or how the workflow ended without finishing. */
  status: CloseStatus['state'] | EndedState;
  reconciliation: {
    /** Records read on both sides of every reconciliation. */
    itemsProcessed: number;
    /** Matches made (a match may pair several records in aggregated or subset rules). */
    matchedItems: number;
    exceptions: number;
    byTask: ReconciliationResult[];
  };
  complianceDocumentation: {
    /** The evidence package's PDF report, once the documentation task has run. */
    filePath?: string;
    packageDir?: string;
    packageId?: string;
    manifestSha256?: string;
  };
  closeIntegration: {
    closeId: string;
    /** The task named by setCloseIntegration({ closeTaskId }), else the close itself. */
    taskId?: string;
    taskStatus: string;
  };
  /** The whole status, for everything else. */
  close?: CloseStatus;
}

function reconResult(t: TaskStatus & { result: ReconciliationSummary }): ReconciliationResult {
  const s = t.result;
  const exceptions = s.exceptions ?? s.keys.amountMismatch + s.keys.missingInA + s.keys.missingInB;
  return {
    taskId: t.id,
    reconId: s.reconId,
    status: s.status,
    itemsProcessed: s.a.records + s.b.records,
    matchedItems: s.matches ?? s.keys.matched,
    exceptions,
    difference: s.difference,
    reports: (s.reports ?? []).map((r) => r.path),
    summary: s,
  };
}

/** The seed's results from a close status; `reportFile` is the evidence package's report file name. */
export function resultsOf(
  id: string,
  status: CloseStatus | undefined,
  opts: { ended?: EndedState; closeTaskId?: string; reportFile: string; join: (dir: string, file: string) => string },
): ExecutionResults {
  const tasks = status?.tasks ?? [];
  const byTask = tasks
    .filter((t): t is TaskStatus & { result: ReconciliationSummary } => t.kind === 'reconciliation' && !!t.result)
    .map(reconResult);
  const doc = tasks.find((t) => t.kind === 'documentation' && t.output)?.output as
    { path?: string; packageId?: string; manifestSha256?: string } | undefined;
  const task = opts.closeTaskId ? tasks.find((t) => t.id === opts.closeTaskId) : undefined;
  const state = opts.ended ?? status?.state ?? 'running';
  return {
    id,
    status: state,
    reconciliation: {
      itemsProcessed: byTask.reduce((n, r) => n + r.itemsProcessed, 0),
      matchedItems: byTask.reduce((n, r) => n + r.matchedItems, 0),
      exceptions: byTask.reduce((n, r) => n + r.exceptions, 0),
      byTask,
    },
    complianceDocumentation: doc?.path
      ? {
          filePath: opts.join(doc.path, opts.reportFile),
          packageDir: doc.path,
          packageId: doc.packageId,
          manifestSha256: doc.manifestSha256,
        }
      : {},
    closeIntegration: {
      closeId: id,
      ...(opts.closeTaskId ? { taskId: opts.closeTaskId } : {}),
      taskStatus: opts.closeTaskId ? (task?.state ?? 'unknown') : state,
    },
    ...(status ? { close: status } : {}),
  };
}

/**
 * The step a close is at: the first running task (in plan order), or the close's state when none runs. For a
 * person this is where the close waits (an approval, a manual task) or what is working now.
 */
export function currentStepOf(status: CloseStatus): string {
  return status.tasks.find((t) => t.state === 'running')?.id ?? status.state;
}

const FINISHED = new Set(['done', 'done_with_exceptions', 'skipped', 'waived']);

/**
 * Whether the close has reached `step`: for an approval task, its checkpoint is open (waiting for a decision) or
 * the task finished; for any other task, it is running or finished; 'completed' when the close completed.
 * `checkpointOf` names an approval task's checkpoint when the caller knows the plan; without it, a running approval
 * task counts as reached once any checkpoint other than a waiver is open.
 */
export function reached(
  status: CloseStatus,
  step: string,
  checkpointOf?: (taskId: string) => string | undefined,
): boolean {
  if (step === 'completed') return status.state === 'completed';
  const t = status.tasks.find((x) => x.id === step);
  if (!t) return false;
  if (FINISHED.has(t.state)) return true;
  if (t.kind !== 'approval') return t.state === 'running';
  const id = checkpointOf?.(t.id);
  return (
    t.state === 'running' &&
    status.checkpoints.some(
      (c) => c.state === 'open' && (id ? c.checkpointId === id : !c.checkpointId.startsWith('waive:')),
    )
  );
}
