// The close's deadlines (issue 19: moved out of workflows/month-end-close.ts, behaviour unchanged): resolved once
// on the business calendar (asked of an activity in the first run, carried after), then watched at each turn of
// the loop. A task with no slack left is marked at risk, a task past its deadline late, and its owner and the
// close owner are told through the approval outbox (domain/close/deadline-watch.ts decides who and when).
import { isCancellation, proxyActivities } from '@temporalio/workflow';
import type { ApprovalActivities } from '../../activities/approval';
import type { createCalendarActivities } from '../../activities/calendar';
import { calendarWindow, resolveDeadline } from '../../domain/close/deadline';
import { deadlineLook, deadlineNotice } from '../../domain/close/deadline-watch';
import { isFinishedState } from '../../domain/close/task-actions';
import { schedule } from '../../domain/close/task-graph';
import type { CloseNotification, TaskStatus } from '../types';
import { cancelledWithClose } from './cancellation';
import { invalidPlan } from './input';
import { failureMessage } from './runtime';
import { bump, graphPlan, nowIso, nowMs, scheduleOptions, taskOf, type CloseRun } from './state';

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

export async function resolveDeadlines(r: CloseRun): Promise<void> {
  const { plan, period } = r;
  const exprs = [...plan.tasks.map((t) => t.deadline), plan.deadline].filter((d): d is string => !!d);
  if (exprs.length === 0) return;
  if (!r.calendar) {
    const window = calendarWindow(period.start, period.end, exprs);
    try {
      r.calendar = await calendarActivities.resolveBusinessCalendar({
        holidays: plan.holidays ?? {},
        from: window.from,
        to: window.to,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      throw invalidPlan(`holidays: ${failureMessage(err)}`);
    }
  }
  const ctx = { periodEnd: period.end, calendar: r.calendar, cutoff: plan.cutoff };
  try {
    for (const t of plan.tasks)
      if (t.deadline) {
        const d = resolveDeadline(t.deadline, ctx);
        r.deadlines[t.id] = d.dueAtMs;
        (taskOf(r, t.id) as TaskStatus).deadline = d.dueAt;
      }
    if (plan.deadline) {
      const d = resolveDeadline(plan.deadline, ctx);
      r.closeDeadline = { ms: d.dueAtMs, iso: d.dueAt };
    }
  } catch (err) {
    throw invalidPlan(`deadline: ${(err as Error).message}`);
  }
}

function notify(r: CloseRun, t: TaskStatus, kind: 'task_late' | 'task_at_risk'): void {
  const key = `${kind}:${t.id}`;
  if (r.notified.has(key)) return;
  r.notified.add(key);
  const { closeId } = r;
  const { recipients, due, subject } = deadlineNotice(kind, t, {
    closeId,
    owner: r.plan.owner,
    deadline: r.closeDeadline?.iso,
  });
  const n: CloseNotification = { at: nowIso(), taskId: t.id, kind, recipients, roles: [t.ownerRole ?? ''] };
  r.notifications.push(n);
  r.background.push(
    notifyActivities
      .enqueueApprovalNotification({
        workflowId: closeId,
        runId: r.firstExecutionRunId,
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
          if (isCancellation(err) && !cancelledWithClose(r, err)) throw err;
          n.queued = false;
          n.error = failureMessage(err);
        },
      ),
  );
}

/** Marks late and at-risk tasks (and tells their owners); returns when to look again, epoch ms. */
export function checkDeadlines(r: CloseRun): number | undefined {
  if (Object.keys(r.deadlines).length === 0 && !r.closeDeadline) return undefined;
  const now = nowMs();
  const sched = schedule(graphPlan(r), scheduleOptions(r, now));
  const look = deadlineLook(
    sched.tasks,
    (id) => {
      const t = taskOf(r, id) as TaskStatus;
      return { id, late: t.late, atRisk: t.atRisk, finished: isFinishedState(t.state) };
    },
    { deadlines: r.deadlines, closeDeadline: r.closeDeadline?.ms, now },
  );
  for (const c of look.changes) {
    const t = taskOf(r, c.id) as TaskStatus;
    if (c.late) t.late = true;
    t.atRisk = c.atRisk;
    if (c.notice) notify(r, t, c.notice);
    bump(r);
  }
  return look.next;
}
