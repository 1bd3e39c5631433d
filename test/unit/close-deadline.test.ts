import type { BusinessCalendar } from '../../domain/close/business-days';
import { addDays, weekdayOf } from '../../domain/close/civil-date';
import {
  DEFAULT_CUTOFF,
  DeadlineError,
  calendarWindow,
  deadlineInstant,
  formatDeadline,
  parseDeadline,
  resolveDeadline,
  resolveDeadlineDate,
} from '../../domain/close/deadline';

const weekendsOnly: BusinessCalendar = {};
// US public holidays 2026-06 .. 2027-01 as date-holidays reports them (test/activities/calendar.test.ts checks that).
const us: BusinessCalendar = {
  closedDays: ['2026-07-03', '2026-09-07', '2026-10-12', '2026-11-11', '2026-11-26', '2026-12-25', '2027-01-01'],
};

describe('deadline expressions', () => {
  it('reads business-day offsets from the period end', () => {
    expect(parseDeadline('BD+3')).toEqual({ anchor: 'business_day', offset: 3 });
    expect(parseDeadline('BD-1')).toEqual({ anchor: 'business_day', offset: -1 });
    expect(parseDeadline('BD0')).toEqual({ anchor: 'business_day', offset: 0 });
    expect(parseDeadline(' bd + 10 ')).toEqual({ anchor: 'business_day', offset: 10 });
    expect(parseDeadline('BD-0')).toEqual({ anchor: 'business_day', offset: 0 });
  });

  it("reads the seed's placeholder form with business or calendar days", () => {
    expect(parseDeadline('{month_end_date} + 3 business days')).toEqual({
      anchor: 'period_end',
      offset: 3,
      unit: 'business_days',
    });
    expect(parseDeadline('{period_end} - 2 business days')).toEqual({
      anchor: 'period_end',
      offset: -2,
      unit: 'business_days',
    });
    expect(parseDeadline('{period_end_date} + 1 business day')).toMatchObject({ offset: 1, unit: 'business_days' });
    expect(parseDeadline('{month_end_date} + 5 days')).toEqual({ anchor: 'period_end', offset: 5, unit: 'days' });
    expect(parseDeadline('{ month_end_date }+5 calendar days')).toMatchObject({ offset: 5, unit: 'days' });
    expect(parseDeadline('{period_end}')).toEqual({ anchor: 'period_end', offset: 0, unit: 'days' });
    expect(parseDeadline('{period_end} - 0 days')).toEqual({ anchor: 'period_end', offset: 0, unit: 'days' });
  });

  it('refuses anything else with the forms it understands', () => {
    for (const bad of ['BD+', 'BD+1.5', 'T+3', '{month_end} + 3 business days', '{period_end} + 3 weeks', 'BD3', ''])
      expect(() => parseDeadline(bad)).toThrow(
        new DeadlineError(
          `deadline ${JSON.stringify(bad)} is not understood: write BD+3, BD-1, BD0, "{month_end_date} + 3 business days", ` +
            '"{period_end} - 2 business days" or "{month_end_date} + 5 days"',
        ),
      );
    expect(() => parseDeadline(3 as unknown as string)).toThrow(/a deadline is a string/);
    expect(() => parseDeadline('BD+400')).toThrow(/an offset of more than 366 days is a typo/);
    expect(() => parseDeadline('{period_end} + 367 days')).toThrow(/more than 366 days/);
  });

  it('writes every form back in a canonical spelling that reads the same', () => {
    for (const expr of [
      'BD+3',
      'BD-1',
      'BD0',
      '{period_end} + 3 business days',
      '{period_end} - 1 business day',
      '{period_end} + 1 day',
      '{period_end} - 5 days',
      '{period_end}',
    ]) {
      expect(formatDeadline(parseDeadline(expr))).toBe(expr);
      expect(parseDeadline(formatDeadline(parseDeadline(expr)))).toEqual(parseDeadline(expr));
    }
  });
});

describe('resolving deadlines', () => {
  it('puts BD0 on the last business day on or before the period end and BD+1 on the first one after it', () => {
    // October 2026 ends on a Saturday.
    expect(weekdayOf('2026-10-31')).toBe('saturday');
    expect(resolveDeadlineDate('BD0', '2026-10-31', us)).toBe('2026-10-30');
    expect(resolveDeadlineDate('BD+1', '2026-10-31', us)).toBe('2026-11-02');
    expect(resolveDeadlineDate('BD+3', '2026-10-31', us)).toBe('2026-11-04');
    expect(resolveDeadlineDate('{month_end_date} + 3 business days', '2026-10-31', us)).toBe('2026-11-04');
    expect(resolveDeadlineDate('BD-1', '2026-10-31', us)).toBe('2026-10-29');
    // Counting back from the Saturday itself: Friday is the first business day before it.
    expect(resolveDeadlineDate('{period_end} - 1 business day', '2026-10-31', us)).toBe('2026-10-30');
    expect(resolveDeadlineDate('{month_end_date} + 5 days', '2026-10-31', us)).toBe('2026-11-05');
  });

  it('moves BD+3 when the company closes a day after the October close', () => {
    const withBridgeDay: BusinessCalendar = { closedDays: [...(us.closedDays ?? []), '2026-11-02'] };
    expect(resolveDeadlineDate('BD+3', '2026-10-31', withBridgeDay)).toBe('2026-11-05');
    expect(resolveDeadlineDate('BD+1', '2026-10-31', withBridgeDay)).toBe('2026-11-03');
  });

  it('counts Thanksgiving out of offsets back from 30 November 2026', () => {
    // Monday 30 November is BD0. Before it: Friday 27 (BD-1), Thursday 26 is Thanksgiving, Wednesday 25 (BD-2).
    expect(resolveDeadlineDate('BD0', '2026-11-30', us)).toBe('2026-11-30');
    expect(resolveDeadlineDate('BD-1', '2026-11-30', us)).toBe('2026-11-27');
    expect(resolveDeadlineDate('BD-2', '2026-11-30', us)).toBe('2026-11-25');
    expect(resolveDeadlineDate('BD-2', '2026-11-30', weekendsOnly)).toBe('2026-11-26');
    expect(resolveDeadlineDate('{period_end} - 3 business days', '2026-11-30', us)).toBe('2026-11-24');
    // BD+3 after the November close is unaffected: 1, 2, 3 December.
    expect(resolveDeadlineDate('BD+3', '2026-11-30', us)).toBe('2026-12-03');
    // A company that also closes the day after Thanksgiving moves BD-1 to Wednesday.
    const dayAfterClosed: BusinessCalendar = { closedDays: [...(us.closedDays ?? []), '2026-11-27'] };
    expect(resolveDeadlineDate('BD-1', '2026-11-30', dayAfterClosed)).toBe('2026-11-25');
  });

  it('moves BD+3 past public holidays right after the period end', () => {
    // June 2026 ends on Tuesday 30; Independence Day falls on a Saturday and is observed on Friday 3 July.
    expect(resolveDeadlineDate('BD+3', '2026-06-30', weekendsOnly)).toBe('2026-07-03');
    expect(resolveDeadlineDate('BD+3', '2026-06-30', us)).toBe('2026-07-06');
    // December 2026 ends on Thursday 31; New Year's Day is Friday 1 January.
    expect(resolveDeadlineDate('BD+3', '2026-12-31', weekendsOnly)).toBe('2027-01-05');
    expect(resolveDeadlineDate('BD+3', '2026-12-31', us)).toBe('2027-01-06');
  });

  it('turns the date into an instant at the cut-off time and its UTC offset', () => {
    const r = resolveDeadline('BD+3', {
      periodEnd: '2026-10-31',
      calendar: us,
      cutoff: { time: '17:00', utcOffset: '-05:00' },
    });
    expect(r).toEqual({
      date: '2026-11-04',
      dueAt: '2026-11-04T22:00:00.000Z',
      dueAtMs: Date.UTC(2026, 10, 4, 22, 0),
      dueAtLocal: '2026-11-04T17:00:00-05:00',
    });
    expect(new Date(r.dueAtMs).toISOString()).toBe(r.dueAt);
    expect(new Date(r.dueAtLocal).getTime()).toBe(r.dueAtMs);
  });

  it('crosses midnight when the offset takes the cut-off into the next or previous UTC day', () => {
    const late = deadlineInstant('2026-12-31', { time: '21:30', utcOffset: '-05:00' });
    expect(late.dueAt).toBe('2027-01-01T02:30:00.000Z');
    const early = deadlineInstant('2027-01-01', { time: '08:00', utcOffset: '+09:00' });
    expect(early.dueAt).toBe('2026-12-31T23:00:00.000Z');
    expect(new Date(early.dueAtLocal).getTime()).toBe(early.dueAtMs);
  });

  it('falls due at 23:59 UTC when the plan sets no cut-off', () => {
    expect(DEFAULT_CUTOFF).toEqual({ time: '23:59', utcOffset: 'Z' });
    expect(resolveDeadline('BD0', { periodEnd: '2026-10-31', calendar: us })).toMatchObject({
      dueAt: '2026-10-30T23:59:00.000Z',
      dueAtLocal: '2026-10-30T23:59:00Z',
    });
  });

  it('accepts a parsed expression as well as its text', () => {
    expect(resolveDeadlineDate({ anchor: 'period_end', offset: -2, unit: 'business_days' }, '2026-11-30', us)).toBe(
      resolveDeadlineDate('{period_end} - 2 business days', '2026-11-30', us),
    );
  });

  it('refuses a bad period end or cut-off', () => {
    expect(() => resolveDeadlineDate('BD+1', '2026-11-31', us)).toThrow(/period end: expected an ISO date/);
    expect(() => deadlineInstant('2026-11-04', { time: '5pm', utcOffset: 'Z' })).toThrow(/cut-off time "5pm"/);
    expect(() => deadlineInstant('2026-11-04', { time: '24:00', utcOffset: 'Z' })).toThrow(/cut-off time/);
    expect(() => deadlineInstant('2026-11-04', { time: '17:00', utcOffset: 'EST' })).toThrow(/cut-off utcOffset "EST"/);
  });
});

describe('calendar window', () => {
  it('covers the period and enough days either side for every business-day deadline', () => {
    const deadlines = ['BD+3', 'BD-2', '{period_end} + 40 days', '{period_end} - 1 business day'];
    const w = calendarWindow('2026-11-01', '2026-11-30', deadlines);
    expect(w.from <= '2026-11-01').toBe(true);
    expect(w.to >= '2026-12-03').toBe(true);
    const cal: BusinessCalendar = { ...us, coverage: w };
    for (const d of deadlines) expect(() => resolveDeadlineDate(d, '2026-11-30', cal)).not.toThrow();
    // Calendar-day offsets need no business calendar, so they do not widen the window.
    expect(w.to < addDays('2026-11-30', 40)).toBe(true);
  });

  it('stretches back far enough for a large negative offset from a weekend period end', () => {
    const w = calendarWindow('2026-10-01', '2026-10-31', ['BD-10', { anchor: 'business_day', offset: 0 }]);
    expect(() => resolveDeadlineDate('BD-10', '2026-10-31', { ...us, coverage: w })).not.toThrow();
    expect(w.to >= '2026-10-31').toBe(true);
  });
});
