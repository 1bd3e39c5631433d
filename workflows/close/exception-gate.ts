// What the close tells its approval checkpoints about the reconciliations they approve (issue 15;
// workflows/approval/exception-gate.ts judges with it): the reconciliations an approval task covers, each with
// its result-store run and the people whose explanations or resolutions of its exceptions the close accepted
// (its journal of exception actions, workflows/close/exception-actions.ts, carried across continue-as-new).
import type { ExceptionWork } from '../../domain/approval';
import type { ExceptionGateSource } from '../approval/exception-gate';
import type { CloseJournalEntry } from '../types';
import type { CloseRun } from './state';

const WORK = new Map<string, ExceptionWork['action']>([
  ['exceptions.explain', 'explain'],
  ['exceptions.resolve', 'resolve'],
  ['exceptions.certify', 'certify'],
]);

/** `2 exception(s), result-store action 7` from an accepted action's note; the time it was taken otherwise. */
function whatWasWorked(e: CloseJournalEntry): string {
  const m = /^(\d+ exception\(s\)) of .* \(result-store action (\d+)\)$/.exec(e.note ?? '');
  if (e.action === 'exceptions.certify') return `certification at ${e.at}`;
  return m ? `${m[1]} in action ${m[2]}` : `action at ${e.at}`;
}

/** A reconciliation a person skipped or waived before it ran has no exceptions, and nothing to certify. */
const NOT_RUN: ReadonlySet<string> = new Set(['skipped', 'waived']);

/** patched() id: an approval covers every reconciliation upstream of it up to the previous approval. */
export const GATE_UPSTREAM_PATCH = 'approval-gate-upstream';

/**
 * The reconciliations an approval task covers. Direct: its reconciliation predecessors (before the patch above).
 * Upstream: every reconciliation it follows through the plan's predecessors (a preparer's review, a package task,
 * another reconciliation in between), stopping at another approval task: an earlier approval is the checkpoint for
 * what lies before it, and a later close review does not re-judge the reconciliations' exceptions.
 */
function coveredBy(
  r: Pick<CloseRun, 'taskById'>,
  approval: CloseRun['tasks'][number],
  upstream: boolean,
): CloseRun['tasks'] {
  const out: CloseRun['tasks'] = [];
  const seen = new Set<string>([approval.id]);
  let frontier = (approval.predecessors ?? []).map((p) => p.task);
  while (frontier.length) {
    const next: string[] = [];
    for (const id of frontier) {
      const t = r.taskById.get(id);
      if (!t || seen.has(id)) continue;
      seen.add(id);
      if (t.kind === 'reconciliation') out.push(t);
      if (upstream && t.kind !== 'approval') next.push(...(t.predecessors ?? []).map((p) => p.task));
    }
    frontier = next;
  }
  return out;
}

/**
 * The reconciliations checkpoint `checkpointId` approves, or nothing when no approval task of it covers one
 * (`upstream`: see coveredBy). Pick only what the gate reads: tasks, their specs and the journal.
 */
export function exceptionGateOf(
  r: Pick<CloseRun, 'tasks' | 'taskById' | 'specById' | 'journal'>,
  checkpointId: string,
  opts: { upstream?: boolean } = {},
): ExceptionGateSource | undefined {
  const approvals = r.tasks.filter(
    (t) => t.kind === 'approval' && r.specById.get(t.id)?.config?.checkpointId === checkpointId,
  );
  const reconTasks = approvals
    .flatMap((a) => coveredBy(r, a, opts.upstream === true))
    .filter((t, i, all) => all.indexOf(t) === i)
    .filter((t) => !(NOT_RUN.has(t.state) && !t.result?.runId));
  if (!reconTasks.length) return undefined;
  return {
    reconciliations: reconTasks.map((task) => {
      const spec = r.specById.get(task.id);
      const reconId = task.result?.reconId ?? String(spec?.config?.reconId ?? task.id);
      const work = r.journal.flatMap((e): ExceptionWork[] => {
        const action = WORK.get(e.action);
        return action && e.accepted !== false && e.taskId === task.id
          ? [{ by: e.by, action, itemIds: [whatWasWorked(e)] }]
          : [];
      });
      return {
        reconId,
        ...(task.result?.runId ? { runId: task.result.runId } : {}),
        state: task.state,
        work,
      };
    }),
  };
}
