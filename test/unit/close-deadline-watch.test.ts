import type { TaskSchedule } from '../../domain/close/task-graph';
import { deadlineLook, deadlineNotice, type WatchedTask } from '../../domain/close/deadline-watch';
import {
  DEFAULT_BLOCKED_TIMEOUT,
  blockedTimeoutMs,
  isBlocked,
  waitForChangeMs,
} from '../../domain/close/blocked-timeout';

const HOUR = 3_600_000;
const now = Date.parse('2026-11-03T09:00:00Z');

function sched(id: string, over: Partial<TaskSchedule> = {}): TaskSchedule {
  return {
    id,
    state: 'pending',
    earliestStart: now,
    earliestFinish: now + HOUR,
    latestFinish: null,
    slack: null,
    critical: false,
    atRisk: false,
    late: false,
    ...over,
  };
}
function held(tasks: WatchedTask[]): (id: string) => WatchedTask {
  const m = new Map(tasks.map((t) => [t.id, t]));
  return (id) => m.get(id) as WatchedTask;
}
const safe = (id: string): WatchedTask => ({ id, late: false, atRisk: false, finished: false });

describe('late and at-risk tasks at a look', () => {
  it('marks a task late once, no longer at risk, with a late notice', () => {
    const look = deadlineLook([sched('a', { late: true, atRisk: true })], held([{ ...safe('a'), atRisk: true }]), {
      deadlines: { a: now - HOUR },
      now,
    });
    expect(look.changes).toEqual([{ id: 'a', late: true, atRisk: false, notice: 'task_late' }]);
    expect(look.next).toBeUndefined();
    const again = deadlineLook([sched('a', { late: true })], held([{ ...safe('a'), late: true }]), {
      deadlines: { a: now - HOUR },
      now,
    });
    expect(again.changes).toEqual([]);
  });

  it('marks a task at risk with a notice, and safe again without one', () => {
    const deadlines = { a: now + HOUR, b: now + 5 * HOUR };
    const look = deadlineLook(
      [sched('a', { atRisk: true }), sched('b')],
      held([safe('a'), { ...safe('b'), atRisk: true }]),
      { deadlines, now },
    );
    expect(look.changes).toEqual([
      { id: 'a', atRisk: true, notice: 'task_at_risk' },
      { id: 'b', atRisk: false },
    ]);
  });

  it('leaves finished tasks alone and changes nothing for a task whose flags hold', () => {
    const look = deadlineLook(
      [sched('done', { late: true }), sched('ok')],
      held([{ ...safe('done'), finished: true }, safe('ok')]),
      { deadlines: { done: now - HOUR }, now },
    );
    expect(look).toEqual({ changes: [] });
  });

  it('looks again at the deadline or when the slack runs out, whichever is first', () => {
    // Due in 5 h, needs 1 h: out of slack in 4 h.
    const look = deadlineLook([sched('a')], held([safe('a')]), { deadlines: { a: now + 5 * HOUR }, now });
    expect(look.next).toBe(now + 4 * HOUR);
    // Already at risk: only its deadline is left to watch.
    const atRisk = deadlineLook([sched('a', { atRisk: true })], held([{ ...safe('a'), atRisk: true }]), {
      deadlines: { a: now + 30 * 60_000 },
      now,
    });
    expect(atRisk.next).toBe(now + 30 * 60_000);
  });

  it("watches the close's deadline for tasks without their own, and the earlier of the two for the others", () => {
    const look = deadlineLook([sched('a'), sched('b')], held([safe('a'), safe('b')]), {
      deadlines: { b: now + 10 * HOUR },
      closeDeadline: now + 3 * HOUR,
      now,
    });
    expect(look.next).toBe(now + 2 * HOUR);
  });

  it('has nothing to watch for tasks without deadlines, late tasks, or deadlines and risk already past', () => {
    expect(deadlineLook([sched('a')], held([safe('a')]), { deadlines: {}, now }).next).toBeUndefined();
    const past = deadlineLook([sched('a', { earliestFinish: now + 3 * HOUR })], held([safe('a')]), {
      deadlines: { a: now },
      now,
    });
    expect(past.next).toBeUndefined();
  });
});

describe('the notice of a late or at-risk task', () => {
  const close = { closeId: 'close:ACME:2026-10', owner: 'olga', deadline: '2026-11-06T17:00:00.000Z' };

  it("tells the task's assignee and the close owner once each, with the task's deadline", () => {
    const t = { id: 'je', name: 'Accruals', owner: 'ann', deadline: '2026-11-04T17:00:00.000Z' };
    expect(deadlineNotice('task_late', t, close)).toEqual({
      recipients: ['ann', 'olga'],
      due: '2026-11-04T17:00:00.000Z',
      subject: 'Late: je (Accruals) of close:ACME:2026-10 was due 2026-11-04T17:00:00.000Z',
    });
    expect(deadlineNotice('task_late', { ...t, owner: 'olga' }, close).recipients).toEqual(['olga']);
  });

  it("falls back on the close's deadline and tells the close owner alone when no one is assigned", () => {
    expect(deadlineNotice('task_at_risk', { id: 'je', name: 'Accruals' }, close)).toEqual({
      recipients: ['olga'],
      due: '2026-11-06T17:00:00.000Z',
      subject: 'At risk: je (Accruals) of close:ACME:2026-10 has no slack left before 2026-11-06T17:00:00.000Z',
    });
    expect(deadlineNotice('task_at_risk', { id: 'je', name: 'A' }, { closeId: 'c' }).recipients).toEqual([]);
  });
});

describe('the blocked timeout', () => {
  it('waits 30 days by default, not at all for the legacy shape, and as long as the close says', () => {
    expect(DEFAULT_BLOCKED_TIMEOUT).toBe('30d');
    expect(blockedTimeoutMs(undefined, false)).toBe(30 * 24 * HOUR);
    expect(blockedTimeoutMs(undefined, true)).toBe(0);
    expect(blockedTimeoutMs('2h', true)).toBe(2 * HOUR);
  });

  it('throws the duration error for a timeout it cannot read', () => {
    expect(() => blockedTimeoutMs('soon', false)).toThrow();
  });

  it('calls a close blocked only when nothing runs, waits or can start, and it is not paused', () => {
    const idle = { paused: false, working: 0, waiting: 0, running: false, eligible: () => 0 };
    expect(isBlocked(idle)).toBe(true);
    expect(isBlocked({ ...idle, paused: true })).toBe(false);
    expect(isBlocked({ ...idle, working: 1 })).toBe(false);
    expect(isBlocked({ ...idle, waiting: 1 })).toBe(false);
    expect(isBlocked({ ...idle, running: true })).toBe(false);
    expect(isBlocked({ ...idle, eligible: () => 2 })).toBe(false);
  });

  it('does not walk the graph for eligible tasks when something already runs', () => {
    const eligible = jest.fn(() => 0);
    isBlocked({ paused: false, working: 1, waiting: 0, running: false, eligible });
    expect(eligible).not.toHaveBeenCalled();
  });

  it('waits for the next look or the end of the blocked timeout, whichever is first, at least a second', () => {
    expect(waitForChangeMs(now, undefined)).toBeUndefined();
    expect(waitForChangeMs(now, now + HOUR)).toBe(HOUR);
    expect(waitForChangeMs(now, now + HOUR, now + 60_000)).toBe(60_000);
    expect(waitForChangeMs(now, undefined, now + 60_000)).toBe(60_000);
    expect(waitForChangeMs(now, now + 10)).toBe(1000);
    expect(waitForChangeMs(now, undefined, now - HOUR)).toBe(1000);
  });
});
