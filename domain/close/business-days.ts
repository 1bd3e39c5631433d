// Business-day arithmetic for deadlines. This runs inside workflows, so it never looks holidays up itself: the
// calendar activity (activities/calendar.ts) resolves public holidays and company closed days for a range, and
// the result comes in here as plain ISO strings. `coverage` states that range; stepping outside it is an error
// rather than a silent "no holidays out there", which would move a deadline onto a bank holiday.
import { CalendarError, WEEKDAYS, type Weekday, isIsoDate, toDay, toIso, weekdayIndex } from './civil-date';

export interface BusinessCalendar {
  /** Days of the week that are never business days; default saturday and sunday. */
  weekend?: readonly Weekday[];
  /** Holidays and company closed days, ISO yyyy-mm-dd, in any order. */
  closedDays?: readonly string[];
  /** The range closedDays was resolved for (inclusive). Without it the closed days are taken as complete. */
  coverage?: { from: string; to: string };
}

export const DEFAULT_WEEKEND: readonly Weekday[] = ['saturday', 'sunday'];

interface Compiled {
  weekend: boolean[];
  closed: Set<number>;
  from: number;
  to: number;
}

// Compiled per call, not cached per object: a calendar is a few dozen days, and a cache keyed by object identity
// would miss a caller's in-place change to closedDays.
function compile(cal: BusinessCalendar): Compiled {
  const weekendDays = cal.weekend ?? DEFAULT_WEEKEND;
  const weekend = WEEKDAYS.map(() => false);
  for (const d of weekendDays) {
    const i = WEEKDAYS.indexOf(d);
    if (i < 0) throw new CalendarError(`weekend: ${JSON.stringify(d)} is not a weekday (${WEEKDAYS.join(', ')})`);
    weekend[i] = true;
  }
  if (weekend.every(Boolean)) throw new CalendarError('weekend: a week needs at least one business day');
  const closed = new Set<number>();
  (cal.closedDays ?? []).forEach((d, i) => {
    if (!isIsoDate(d))
      throw new CalendarError(`closedDays[${i}]: expected an ISO date yyyy-mm-dd, got ${JSON.stringify(d)}`);
    closed.add(toDay(d));
  });
  let from = -Infinity;
  let to = Infinity;
  if (cal.coverage) {
    from = toDay(cal.coverage.from, 'coverage.from');
    to = toDay(cal.coverage.to, 'coverage.to');
    if (from > to) throw new CalendarError(`coverage: from ${cal.coverage.from} is after to ${cal.coverage.to}`);
  }
  return { weekend, closed, from, to };
}

function isBusinessDayNumber(c: Compiled, day: number): boolean {
  if (day < c.from || day > c.to)
    throw new CalendarError(
      `${toIso(day)} is outside the range the closed days were resolved for (${toIso(c.from)} to ${toIso(c.to)}); ` +
        'resolve holidays for a wider range',
    );
  return !c.weekend[weekdayIndex(day)] && !c.closed.has(day);
}

export function isBusinessDay(date: string, cal: BusinessCalendar): boolean {
  return isBusinessDayNumber(compile(cal), toDay(date));
}

/**
 * The n-th business day after `date` (n > 0) or before it (n < 0), not counting `date` itself, which need not
 * be a business day: addBusinessDays(Friday, 1) is Monday, and so is addBusinessDays(Saturday, 1).
 * n = 0 returns `date` unchanged; use businessDayOnOrAfter/OnOrBefore to roll a date onto a business day.
 */
export function addBusinessDays(date: string, n: number, cal: BusinessCalendar): string {
  if (!Number.isSafeInteger(n)) throw new CalendarError(`a business-day offset is a whole number, got ${n}`);
  const c = compile(cal);
  let day = toDay(date);
  const step = n < 0 ? -1 : 1;
  for (let left = Math.abs(n); left > 0;) {
    day += step;
    if (isBusinessDayNumber(c, day)) left--;
  }
  return toIso(day);
}

export function businessDayOnOrAfter(date: string, cal: BusinessCalendar): string {
  const c = compile(cal);
  let day = toDay(date);
  while (!isBusinessDayNumber(c, day)) day++;
  return toIso(day);
}

export function businessDayOnOrBefore(date: string, cal: BusinessCalendar): string {
  const c = compile(cal);
  let day = toDay(date);
  while (!isBusinessDayNumber(c, day)) day--;
  return toIso(day);
}

/**
 * Business days after `from` up to and including `to`; negative (the business days from `to` up to but not
 * including `from`) when `to` is earlier. So addBusinessDays(from, businessDaysBetween(from, to)) === to
 * whenever `to` is a business day.
 */
export function businessDaysBetween(from: string, to: string, cal: BusinessCalendar): number {
  const c = compile(cal);
  const a = toDay(from);
  const b = toDay(to);
  const [lo, hi, sign] = b >= a ? [a + 1, b, 1] : [b, a - 1, -1];
  let count = 0;
  for (let day = lo; day <= hi; day++) if (isBusinessDayNumber(c, day)) count++;
  return sign * count;
}
