// At-risk and late timing of a close's tasks (issue 19: moved out of workflows/month-end-close.ts, behaviour
// unchanged). The close asks, at each look, which tasks turned late or at risk (or safe again) against their own
// deadline or the close's, whom to tell, and when to look again; it applies the changes and sends the notices. Pure.
import type { TaskSchedule } from './task-graph';

/** A task's deadline flags as the close holds them. */
export interface WatchedTask {
  id: string;
  late?: boolean;
  atRisk?: boolean;
  finished: boolean;
}

/** The task turned late (and no longer at risk), or its at-risk flag changed; a notice is due when one is named. */
export type DeadlineChange =
  | { id: string; late: true; atRisk: false; notice: 'task_late' }
  | { id: string; late?: undefined; atRisk: boolean; notice?: 'task_at_risk' };

export interface DeadlineLook {
  /** In the schedule's task order. */
  changes: DeadlineChange[];
  /** When to look again, epoch ms: the next deadline or the instant a task runs out of slack; none to wait for. */
  next?: number;
}

/**
 * Compares the schedule at `now` with the flags the close holds. A task already late stays late. A task not late
 * is looked at again at its deadline and, with no progress, at the instant its slack runs out: its projected finish
 * moves with the clock, so it runs out of slack at now + (due - earliest finish).
 */
export function deadlineLook(
  schedule: readonly TaskSchedule[],
  task: (id: string) => WatchedTask,
  due: { deadlines: Readonly<Record<string, number>>; closeDeadline?: number; now: number },
): DeadlineLook {
  const { now } = due;
  const changes: DeadlineChange[] = [];
  let next = Infinity;
  for (const ts of schedule) {
    const t = task(ts.id);
    if (t.finished) continue;
    let late = t.late;
    let atRisk = t.atRisk;
    if (ts.late && !late) {
      late = true;
      atRisk = false;
      changes.push({ id: t.id, late: true, atRisk: false, notice: 'task_late' });
    } else if (!ts.late && ts.atRisk !== atRisk) {
      atRisk = ts.atRisk;
      changes.push(ts.atRisk ? { id: t.id, atRisk: true, notice: 'task_at_risk' } : { id: t.id, atRisk: false });
    }
    const dueAt = Math.min(due.deadlines[t.id] ?? Infinity, due.closeDeadline ?? Infinity);
    if (!Number.isFinite(dueAt) || late) continue;
    if (dueAt > now) next = Math.min(next, dueAt);
    const riskAt = now + (dueAt - ts.earliestFinish);
    if (!atRisk && riskAt > now) next = Math.min(next, riskAt);
  }
  return Number.isFinite(next) ? { changes, next } : { changes };
}

export interface DeadlineNotice {
  /** The task's assignee and the close owner, once each. */
  recipients: string[];
  /** The deadline missed or near: the task's own, else the close's. */
  due?: string;
  subject: string;
}

/** What the task's owner and the close owner are told when a task turns late or at risk. */
export function deadlineNotice(
  kind: 'task_late' | 'task_at_risk',
  t: { id: string; name: string; owner?: string; deadline?: string },
  close: { closeId: string; owner?: string; deadline?: string },
): DeadlineNotice {
  const recipients = [t.owner, close.owner].filter((r, i, all): r is string => !!r && all.indexOf(r) === i);
  const due = t.deadline ?? close.deadline;
  const subject =
    kind === 'task_late'
      ? `Late: ${t.id} (${t.name}) of ${close.closeId} was due ${due}`
      : `At risk: ${t.id} (${t.name}) of ${close.closeId} has no slack left before ${due}`;
  return { recipients, due, subject };
}
