// The pure parts of `finflow close`: the status text, the progress bar, the schedule spec, and the period a
// scheduled run closes (the rolling that makes one schedule serve every month).
import { formatStatus, progressBar, scheduleSpecOf, closeScheduleId } from '../../client/commands/close';
import { periodToClose, periodToCloseFor } from '../../workflows/close-schedule';
import type { CloseStatus } from '../../contracts';

describe('the period a scheduled close run closes', () => {
  it('is the calendar month before the one the run falls in, across a year end', () => {
    expect(periodToClose('2026-11-01T06:00:00.000Z')).toBe('2026-10');
    expect(periodToClose('2026-11-30T23:59:59.000Z')).toBe('2026-10');
    expect(periodToClose('2027-01-02T07:30:00.000Z')).toBe('2026-12');
    expect(periodToClose('2026-03-01T00:00:00.000Z')).toBe('2026-02');
  });

  it('follows a 4-4-5 calendar: a run on the first day of a period closes the period that ended the day before', () => {
    // FY2026 ends on the last Saturday of December 2026 (the 26th) and began on 2025-12-28; its 4-4-5 periods
    // put P11 at 2026-10-25..2026-11-21 and P12 (five weeks) at 2026-11-22..2026-12-26.
    const plan = {
      fiscalCalendar: {
        type: 'weeks_52_53',
        pattern: '4-4-5',
        yearEnd: { rule: 'last', weekday: 'saturday', month: 12 },
      },
    };
    expect(periodToCloseFor(plan, '2026-11-02T06:00:00.000Z')).toBe('FY2026-P10');
    expect(periodToCloseFor(plan, '2026-11-21T23:00:00.000Z')).toBe('FY2026-P10');
    expect(periodToCloseFor(plan, '2026-11-22T00:00:00.000Z')).toBe('FY2026-P11');
    expect(periodToCloseFor(plan, '2026-12-27T06:00:00.000Z')).toBe('FY2026-P12');
  });

  it('refuses a misspelt fiscal calendar rather than guessing calendar months', () => {
    expect(() => periodToCloseFor({ fiscalCalendar: { type: 'weekly' } }, '2026-11-01T00:00:00Z')).toThrow();
  });
});

describe('the schedule spec of finflow close schedule', () => {
  it('starts on the given day of every month at the given time, UTC unless told', () => {
    expect(scheduleSpecOf({ every: 'month', day: '2', at: '07:30' })).toEqual({
      calendars: [{ dayOfMonth: 2, hour: 7, minute: 30, comment: 'monthly close' }],
      timezone: 'UTC',
    });
    expect(scheduleSpecOf({ every: 'month', timezone: 'America/New_York' }).timezone).toBe('America/New_York');
  });

  it('refuses other units, days some months lack, and malformed times', () => {
    expect(() => scheduleSpecOf({ every: 'week' })).toThrow(/only "month"/);
    expect(() => scheduleSpecOf({ every: 'month', day: '31' })).toThrow(/1-28/);
    expect(() => scheduleSpecOf({ every: 'month', at: '7h' })).toThrow(/HH:MM/);
    expect(() => scheduleSpecOf({ every: 'month', at: '24:00' })).toThrow(/HH:MM/);
    expect(() => closeScheduleId("ACME' OR 1=1")).toThrow(/letters, digits/);
  });
});

describe('the status text of finflow close status', () => {
  const s = {
    closeId: 'close:ACME:2026-10',
    company: 'ACME',
    period: '2026-10',
    state: 'running',
    percentDone: 50,
    closeDeadline: '2026-11-04T23:59:00.000Z',
    criticalPath: ['review'],
    paused: true,
    tasks: [
      { id: 'accruals', name: 'Accruals', kind: 'manual', state: 'done', ownerRole: 'accountant', owner: 'ann' },
      {
        id: 'review',
        name: 'Review',
        kind: 'manual',
        state: 'blocked',
        ownerRole: 'controller',
        deadline: '2026-11-03T23:59:00.000Z',
        late: true,
        blockedReason: 'dependency cannot be met: accruals_fx',
      },
    ],
    checkpoints: [],
    blockers: [{ task: 'review', root: 'accruals_fx', message: 'dependency cannot be met: accruals_fx' }],
  } as unknown as CloseStatus;

  it('heads with the close, its state and progress, then one table row per task', () => {
    const lines = formatStatus(s).split('\n');
    expect(lines[0]).toBe('close:ACME:2026-10  RUNNING (PAUSED)  50% done');
    expect(lines[1]).toBe('deadline 2026-11-04 23:59Z');
    expect(lines[2]).toMatch(/^ {2}task +kind +owner +state +deadline +late\/at-risk +blockers +critical$/);
    expect(lines[4]).toMatch(/^ {2}accruals +manual +ann \(accountant\) +done$/);
    expect(lines[5]).toMatch(
      /^ {2}review +manual +\(controller\) +blocked +2026-11-03 23:59Z +LATE +dependency cannot be met: accruals_fx +\*$/,
    );
    expect(lines[6]).toBe('  critical path: review');
  });

  it('draws the progress bar in proportion, clamped to 0-100', () => {
    expect(progressBar(50, 10)).toBe('[#####.....]  50%');
    expect(progressBar(100, 10)).toBe('[##########] 100%');
    expect(progressBar(-5, 4)).toBe('[....]   0%');
    expect(progressBar(130, 4)).toBe('[####] 100%');
  });
});
