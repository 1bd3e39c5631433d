// Fiscal calendars: which fiscal year and period a date belongs to, and where each period starts and ends.
// Two families:
// - calendar_months: twelve calendar months; the fiscal year may start in any month.
// - weeks_52_53: whole weeks grouped 4-4-5, 4-5-4, 5-4-4 (per quarter) or 13 x 4. The year ends on a stated
//   weekday ("the last Saturday of January" or "the Saturday nearest the end of January"), so a year has 52
//   weeks, or 53 when the rule slips a week; the extra week goes to a configurable period (the last by default).
// Fiscal years are named by a stated rule too (yearLabel): 'end' names a year after the calendar year of its
// last nominal month (FY2027 = Oct 2026 - Sep 2027), 'start' after its first (retail: FY2026 = Feb 2026 - Jan
// 2027). "Nominal" because a 52/53-week year ending the Saturday nearest 31 December may end on 2 January.
import { z } from 'zod';
import {
  CalendarError,
  WEEKDAYS,
  dayFromCivil,
  daysInMonth,
  monthName,
  pad2,
  toDay,
  toIso,
  weekdayIndex,
  civilFromDay,
} from './civil-date';

export const WEEK_PATTERNS = {
  '4-4-5': [4, 4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 5],
  '4-5-4': [4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 5, 4],
  '5-4-4': [5, 4, 4, 5, 4, 4, 5, 4, 4, 5, 4, 4],
  '13x4': [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4],
} as const;
export type WeekPattern = keyof typeof WEEK_PATTERNS;

// Every workflow the worker creates evaluates the whole bundle's modules afresh (Temporal's reusable V8 context
// keeps no module between workflows), and building zod schemas is the costly part of that. They are built on first
// use instead: a reconciliation child, which never parses a calendar, no longer pays for them.
function buildSchemas() {
  const weekdaySchema = z.enum(WEEKDAYS, {
    error: `a weekday is one of ${WEEKDAYS.join(', ')} (lower case)`,
  });

  const monthSchema = z
    .number({ error: 'a month is a number 1-12' })
    .int('a month is a whole number 1-12')
    .min(1, 'a month is 1-12')
    .max(12, 'a month is 1-12');

  const yearLabelSchema = z.enum(['end', 'start'], {
    error: "yearLabel is 'end' (named after the calendar year it ends in) or 'start'",
  });

  const yearEndRuleSchema = z.strictObject({
    /** last: the last <weekday> of <month>; nearest: the <weekday> nearest the last day of <month> (may fall in the next month). */
    rule: z.enum(['last', 'nearest'], { error: "yearEnd.rule is 'last' or 'nearest'" }),
    weekday: weekdaySchema,
    month: monthSchema,
  });

  const calendarMonthsSchema = z.strictObject({
    type: z.literal('calendar_months'),
    /** First month of the fiscal year, 1-12; default 1 (January). */
    startMonth: monthSchema.optional(),
    yearLabel: yearLabelSchema.optional(),
  });

  const weeks5253Schema = z
    .strictObject({
      type: z.literal('weeks_52_53'),
      pattern: z.enum(Object.keys(WEEK_PATTERNS) as [WeekPattern, ...WeekPattern[]], {
        error: `pattern is one of ${Object.keys(WEEK_PATTERNS).join(', ')}`,
      }),
      yearEnd: yearEndRuleSchema,
      /** Period that gets the 53rd week; default the last period. */
      week53Period: z.number().int('week53Period is a whole number').min(1, 'week53Period is at least 1').optional(),
      yearLabel: yearLabelSchema.optional(),
    })
    .superRefine((cal, ctx) => {
      const periods = WEEK_PATTERNS[cal.pattern].length;
      if (cal.week53Period !== undefined && cal.week53Period > periods)
        ctx.addIssue({
          code: 'custom',
          path: ['week53Period'],
          message: `week53Period ${cal.week53Period} is past the last period of a ${cal.pattern} year (${periods})`,
        });
    });

  const fiscalCalendarSchema = z.discriminatedUnion('type', [calendarMonthsSchema, weeks5253Schema], {
    error: "fiscal calendar type is 'calendar_months' or 'weeks_52_53'",
  });
  return { weekdaySchema, yearEndRuleSchema, calendarMonthsSchema, weeks5253Schema, fiscalCalendarSchema };
}
let built: ReturnType<typeof buildSchemas> | undefined;
const schemas = () => (built ??= buildSchemas());

export const weekdaySchema = z.lazy(() => schemas().weekdaySchema);
export const yearEndRuleSchema = z.lazy(() => schemas().yearEndRuleSchema);
export type YearEndRule = z.output<typeof yearEndRuleSchema>;
export const calendarMonthsSchema = z.lazy(() => schemas().calendarMonthsSchema);
export const weeks5253Schema = z.lazy(() => schemas().weeks5253Schema);
export const fiscalCalendarSchema = z.lazy(() => schemas().fiscalCalendarSchema);
export type FiscalCalendar = z.output<typeof fiscalCalendarSchema>;

export const DEFAULT_FISCAL_CALENDAR: FiscalCalendar = { type: 'calendar_months' };

export interface FiscalYearRange {
  fiscalYear: number;
  start: string;
  end: string;
  days: number;
  /** 52 or 53 for week-based calendars. */
  weeks?: number;
}

export interface FiscalPeriod {
  fiscalYear: number;
  /** 1-based. */
  period: number;
  start: string;
  end: string;
  days: number;
  weeks?: number;
  /** The canonical key: "2026-10" (the calendar month) for calendar_months, "FY2026-P10" for week calendars. */
  key: string;
  /** Always the fiscal form, "FY2026-P10". */
  fiscalKey: string;
}

const validated = new WeakSet<object>();

/** Checks a calendar once per object (callers pass the same plan object around), with errors naming each field. */
export function checkFiscalCalendar(cal: FiscalCalendar): FiscalCalendar {
  if (validated.has(cal)) return cal;
  const r = fiscalCalendarSchema.safeParse(cal);
  if (!r.success)
    throw new CalendarError(
      `invalid fiscal calendar: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  validated.add(cal);
  return cal;
}

/** The year-end rule in words, e.g. "the last Saturday of January". */
export function describeYearEnd(rule: YearEndRule): string {
  const day = rule.weekday[0].toUpperCase() + rule.weekday.slice(1);
  return rule.rule === 'last'
    ? `the last ${day} of ${monthName(rule.month)}`
    : `the ${day} nearest the end of ${monthName(rule.month)}`;
}

export function describeFiscalCalendar(cal: FiscalCalendar): string {
  checkFiscalCalendar(cal);
  const label = (cal.yearLabel ?? 'end') === 'end' ? 'the calendar year it ends in' : 'the calendar year it starts in';
  if (cal.type === 'calendar_months')
    return `calendar months, fiscal year starting in ${monthName(cal.startMonth ?? 1)}, named after ${label}`;
  const periods = WEEK_PATTERNS[cal.pattern].length;
  return (
    `52/53-week years in ${cal.pattern} periods ending ${describeYearEnd(cal.yearEnd)}, ` +
    `53rd week in period ${cal.week53Period ?? periods}, named after ${label}`
  );
}

/** Day number of the year end anchored on `rule.month` of calendar year `year`. */
function yearEndDay(rule: YearEndRule, year: number): number {
  const lastOfMonth = dayFromCivil(year, rule.month, daysInMonth(year, rule.month));
  const target = WEEKDAYS.indexOf(rule.weekday);
  const back = (weekdayIndex(lastOfMonth) - target + 7) % 7;
  if (rule.rule === 'last' || back <= 3) return lastOfMonth - back;
  return lastOfMonth + (7 - back);
}

/** Offset between a fiscal-year label and the calendar year of its last nominal month. */
function labelShift(cal: FiscalCalendar): number {
  if ((cal.yearLabel ?? 'end') === 'end') return 0;
  const lastMonth = cal.type === 'calendar_months' ? (((cal.startMonth ?? 1) + 10) % 12) + 1 : cal.yearEnd.month;
  return lastMonth === 12 ? 0 : 1;
}

function checkFiscalYear(fiscalYear: number): void {
  if (!Number.isInteger(fiscalYear) || fiscalYear < 1 || fiscalYear > 9998)
    throw new CalendarError(`fiscal year must be a whole number 1-9998, got ${fiscalYear}`);
}

export function fiscalYearRange(fiscalYear: number, cal: FiscalCalendar = DEFAULT_FISCAL_CALENDAR): FiscalYearRange {
  checkFiscalCalendar(cal);
  checkFiscalYear(fiscalYear);
  const endYear = fiscalYear + labelShift(cal);
  if (cal.type === 'calendar_months') {
    const startMonth = cal.startMonth ?? 1;
    const startYear = startMonth === 1 ? endYear : endYear - 1;
    const start = dayFromCivil(startYear, startMonth, 1);
    const end = dayFromCivil(startYear + 1, startMonth, 1) - 1;
    return { fiscalYear, start: toIso(start), end: toIso(end), days: end - start + 1 };
  }
  const start = yearEndDay(cal.yearEnd, endYear - 1) + 1;
  const end = yearEndDay(cal.yearEnd, endYear);
  const days = end - start + 1;
  return { fiscalYear, start: toIso(start), end: toIso(end), days, weeks: days / 7 };
}

export function periodsPerYear(cal: FiscalCalendar = DEFAULT_FISCAL_CALENDAR): number {
  checkFiscalCalendar(cal);
  return cal.type === 'calendar_months' ? 12 : WEEK_PATTERNS[cal.pattern].length;
}

export function periodsOfYear(fiscalYear: number, cal: FiscalCalendar = DEFAULT_FISCAL_CALENDAR): FiscalPeriod[] {
  const year = fiscalYearRange(fiscalYear, cal);
  const yearStart = toDay(year.start);
  if (cal.type === 'calendar_months') {
    const first = civilFromDay(yearStart);
    return Array.from({ length: 12 }, (_, i) => {
      const monthIndex = first.month - 1 + i;
      const y = first.year + Math.floor(monthIndex / 12);
      const m = (monthIndex % 12) + 1;
      const start = dayFromCivil(y, m, 1);
      const end = start + daysInMonth(y, m) - 1;
      return makePeriod(fiscalYear, i + 1, start, end, undefined, `${String(y).padStart(4, '0')}-${pad2(m)}`);
    });
  }
  const weeks: number[] = [...WEEK_PATTERNS[cal.pattern]];
  if (year.weeks === 53) weeks[(cal.week53Period ?? weeks.length) - 1] += 1;
  const out: FiscalPeriod[] = [];
  let start = yearStart;
  weeks.forEach((w, i) => {
    const end = start + w * 7 - 1;
    out.push(makePeriod(fiscalYear, i + 1, start, end, w));
    start = end + 1;
  });
  return out;
}

function makePeriod(
  fiscalYear: number,
  period: number,
  start: number,
  end: number,
  weeks: number | undefined,
  monthKey?: string,
): FiscalPeriod {
  const fiscalKey = `FY${String(fiscalYear).padStart(4, '0')}-P${pad2(period)}`;
  const p: FiscalPeriod = {
    fiscalYear,
    period,
    start: toIso(start),
    end: toIso(end),
    days: end - start + 1,
    key: monthKey ?? fiscalKey,
    fiscalKey,
  };
  if (weeks !== undefined) p.weeks = weeks;
  return p;
}

export function fiscalPeriod(
  fiscalYear: number,
  period: number,
  cal: FiscalCalendar = DEFAULT_FISCAL_CALENDAR,
): FiscalPeriod {
  const periods = periodsOfYear(fiscalYear, cal);
  if (!Number.isInteger(period) || period < 1 || period > periods.length)
    throw new CalendarError(`period must be 1-${periods.length} in this calendar, got ${period}`);
  return periods[period - 1];
}

export function fiscalYearOf(date: string, cal: FiscalCalendar = DEFAULT_FISCAL_CALENDAR): number {
  checkFiscalCalendar(cal);
  const day = toDay(date);
  const civilYear = civilFromDay(day).year;
  // The fiscal year is the calendar year of its last nominal month, give or take one; step to the right one.
  let endYear = civilYear;
  while (day > toDay(fiscalYearRange(endYear - labelShift(cal), cal).end)) endYear++;
  while (day < toDay(fiscalYearRange(endYear - labelShift(cal), cal).start)) endYear--;
  return endYear - labelShift(cal);
}

export function fiscalPeriodOf(date: string, cal: FiscalCalendar = DEFAULT_FISCAL_CALENDAR): FiscalPeriod {
  const fy = fiscalYearOf(date, cal);
  const day = toDay(date);
  return periodsOfYear(fy, cal).find((p) => toDay(p.end) >= day) as FiscalPeriod;
}

/** The period `n` periods after (or before, when negative) the given one, across fiscal years. */
export function shiftPeriod(
  from: FiscalPeriod,
  n: number,
  cal: FiscalCalendar = DEFAULT_FISCAL_CALENDAR,
): FiscalPeriod {
  if (!Number.isInteger(n)) throw new CalendarError(`a period shift is a whole number, got ${n}`);
  const per = periodsPerYear(cal);
  const index = from.fiscalYear * per + (from.period - 1) + n;
  return fiscalPeriod(Math.floor(index / per), (index % per) + 1, cal);
}

const MONTH_KEY = /^(\d{4})-(\d{2})$/;
const FISCAL_KEY = /^FY(\d{4})-P(\d{1,2})$/;

/**
 * A period from its key: "FY2026-P10" in any calendar, or "2026-10" (a calendar month) in a calendar_months
 * calendar, where it names the fiscal period holding that month. A week-based period does not line up with a
 * calendar month, so "2026-10" is refused there rather than guessed.
 */
export function parsePeriodKey(key: string, cal: FiscalCalendar = DEFAULT_FISCAL_CALENDAR): FiscalPeriod {
  checkFiscalCalendar(cal);
  const forms = cal.type === 'calendar_months' ? '"2026-10" (a calendar month) or "FY2026-P10"' : '"FY2026-P10"';
  if (typeof key !== 'string') throw new CalendarError(`a period key is a string such as ${forms}`);
  const fiscal = FISCAL_KEY.exec(key);
  if (fiscal) return fiscalPeriod(Number(fiscal[1]), Number(fiscal[2]), cal);
  const month = MONTH_KEY.exec(key);
  if (month) {
    if (cal.type !== 'calendar_months')
      throw new CalendarError(
        `period ${JSON.stringify(key)} names a calendar month, but a ${cal.pattern} calendar's periods are not ` +
          `calendar months: write it as ${forms}`,
      );
    const m = Number(month[2]);
    if (m < 1 || m > 12) throw new CalendarError(`period ${JSON.stringify(key)}: month must be 01-12`);
    return fiscalPeriodOf(`${month[1]}-${month[2]}-01`, cal);
  }
  throw new CalendarError(`period ${JSON.stringify(key)} is not a period key: write it as ${forms}`);
}

/**
 * What a close tells a reconciliation about a period the reconciliation cannot work out alone: for a fiscal key
 * ("FY2026-P10") its first and last day, the last being the as-of date. A calendar month ("2026-10") gives nothing:
 * the reconciliation takes the month itself, as it always has.
 */
export function reconPeriodBounds(
  period: string,
  cal: FiscalCalendar = DEFAULT_FISCAL_CALENDAR,
): { asOf: string; periodStart: string; periodEnd: string } | undefined {
  if (MONTH_KEY.test(period)) return undefined;
  const p = parsePeriodKey(period, cal);
  return { asOf: p.end, periodStart: p.start, periodEnd: p.end };
}
