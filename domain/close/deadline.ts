// Deadline expressions of close tasks, relative to the end of the fiscal period being closed ("month end").
//
//   BD0                                   the last business day on or before the period end
//   BD+n (n >= 1)                         the n-th business day after the period end (BD+1 = the first one)
//   BD-n (n >= 1)                         the n-th business day before BD0
//   {month_end_date} + n business days    = addBusinessDays(period end, n): the same day as BD+n
//   {period_end} - n business days        = addBusinessDays(period end, -n): counts back from the period end
//                                           itself, so when the period ends on a weekend it is one business
//                                           day later than BD-n (which counts back from BD0)
//   {period_end} + n days / - n days      calendar days, landing on weekends and holidays as they fall
//   {period_end}                          the period end itself
// {month_end_date}, {period_end} and {period_end_date} are the same anchor.
//
// A deadline is a date plus a cut-off time of day at a fixed UTC offset ("17:00" at "-05:00"), not an IANA
// zone: the instant is computed inside workflows, and zone rules from the worker's ICU data could change
// between a run and its replay. A company on summer time states the offset it means (or sets a later cut-off).
import { z } from 'zod';
import { type BusinessCalendar, addBusinessDays, businessDayOnOrBefore } from './business-days';
import { pad2, toDay, toIso } from './civil-date';

export type DeadlineSpec =
  { anchor: 'business_day'; offset: number } | { anchor: 'period_end'; offset: number; unit: 'business_days' | 'days' };

export class DeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadlineError';
  }
}

const MAX_OFFSET = 366;
const BD = /^BD\s*(?:([+-])\s*(\d+)|(0))$/i;
const RELATIVE =
  /^\{\s*(month_end_date|period_end|period_end_date)\s*\}(?:\s*([+-])\s*(\d+)\s+(business\s+days?|(?:calendar\s+)?days?))?$/i;

const FORMS =
  'write BD+3, BD-1, BD0, "{month_end_date} + 3 business days", "{period_end} - 2 business days" or ' +
  '"{month_end_date} + 5 days"';

export function parseDeadline(expr: string): DeadlineSpec {
  if (typeof expr !== 'string') throw new DeadlineError(`a deadline is a string: ${FORMS}`);
  const text = expr.trim();
  const bd = BD.exec(text);
  if (bd) {
    const offset = bd[3] ? 0 : Number(bd[2]) * (bd[1] === '-' ? -1 : 1);
    checkOffset(expr, offset);
    return { anchor: 'business_day', offset: offset === 0 ? 0 : offset };
  }
  const rel = RELATIVE.exec(text);
  if (rel) {
    if (!rel[2]) return { anchor: 'period_end', offset: 0, unit: 'days' };
    const offset = Number(rel[3]) * (rel[2] === '-' ? -1 : 1);
    checkOffset(expr, offset);
    const unit = /^business/i.test(rel[4]) ? 'business_days' : 'days';
    return { anchor: 'period_end', offset: offset === 0 ? 0 : offset, unit };
  }
  throw new DeadlineError(`deadline ${JSON.stringify(expr)} is not understood: ${FORMS}`);
}

function checkOffset(expr: string, offset: number): void {
  if (Math.abs(offset) > MAX_OFFSET)
    throw new DeadlineError(`deadline ${JSON.stringify(expr)}: an offset of more than ${MAX_OFFSET} days is a typo`);
}

/** The canonical spelling: "BD+3", "BD0", "{period_end} - 2 business days", "{period_end} + 5 days". */
export function formatDeadline(spec: DeadlineSpec): string {
  if (spec.anchor === 'business_day')
    return spec.offset === 0 ? 'BD0' : `BD${spec.offset > 0 ? '+' : '-'}${Math.abs(spec.offset)}`;
  if (spec.offset === 0 && spec.unit === 'days') return '{period_end}';
  const n = Math.abs(spec.offset);
  const unit = spec.unit === 'business_days' ? `business day${n === 1 ? '' : 's'}` : `day${n === 1 ? '' : 's'}`;
  return `{period_end} ${spec.offset < 0 ? '-' : '+'} ${n} ${unit}`;
}

/** The deadline's date. Needs the calendar to cover the days it steps over (see business-days.ts). */
export function resolveDeadlineDate(
  expr: string | DeadlineSpec,
  periodEnd: string,
  calendar: BusinessCalendar,
): string {
  const spec = typeof expr === 'string' ? parseDeadline(expr) : expr;
  toDay(periodEnd, 'period end');
  if (spec.anchor === 'business_day') {
    if (spec.offset > 0) return addBusinessDays(periodEnd, spec.offset, calendar);
    return addBusinessDays(businessDayOnOrBefore(periodEnd, calendar), spec.offset, calendar);
  }
  if (spec.unit === 'business_days') return addBusinessDays(periodEnd, spec.offset, calendar);
  return toIso(toDay(periodEnd) + spec.offset);
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const OFFSET = /^(?:Z|([+-])(0\d|1[0-4]):([0-5]\d))$/;

let builtCutoff: ReturnType<typeof buildCutoffSchema> | undefined;
function buildCutoffSchema() {
  return z.strictObject({
    /** Wall-clock time of day the deadline falls due, HH:MM (24-hour). */
    time: z.string().regex(TIME, 'time is HH:MM on a 24-hour clock, e.g. "17:00"'),
    /** The fixed UTC offset of that wall clock: "Z", "+01:00", "-05:00". */
    utcOffset: z.string().regex(OFFSET, 'utcOffset is "Z" or ±HH:MM, e.g. "-05:00"'),
  });
}
/** Built on first use (see fiscal-calendar.ts for why). */
export const cutoffSchema = z.lazy(() => (builtCutoff ??= buildCutoffSchema()));
export type Cutoff = z.output<typeof cutoffSchema>;

/** End of the business day in UTC unless the plan says otherwise. */
export const DEFAULT_CUTOFF: Cutoff = { time: '23:59', utcOffset: 'Z' };

export interface ResolvedDeadline {
  /** The local date the deadline falls on. */
  date: string;
  /** The instant in UTC, in the shape of Date.prototype.toISOString ("2026-11-04T22:00:00.000Z"). */
  dueAt: string;
  /** The same instant as epoch milliseconds, for workflow timers. */
  dueAtMs: number;
  /** The instant with its wall-clock offset, as the plan states it ("2026-11-04T17:00:00-05:00"). */
  dueAtLocal: string;
}

export function resolveDeadline(
  expr: string | DeadlineSpec,
  ctx: { periodEnd: string; calendar: BusinessCalendar; cutoff?: Cutoff },
): ResolvedDeadline {
  const date = resolveDeadlineDate(expr, ctx.periodEnd, ctx.calendar);
  return { date, ...deadlineInstant(date, ctx.cutoff ?? DEFAULT_CUTOFF) };
}

/** The instant a date's cut-off time falls on. */
export function deadlineInstant(date: string, cutoff: Cutoff): Omit<ResolvedDeadline, 'date'> {
  const time = TIME.exec(cutoff.time);
  const offset = OFFSET.exec(cutoff.utcOffset);
  if (!time) throw new DeadlineError(`cut-off time ${JSON.stringify(cutoff.time)}: expected HH:MM, e.g. "17:00"`);
  if (!offset) throw new DeadlineError(`cut-off utcOffset ${JSON.stringify(cutoff.utcOffset)}: expected "Z" or ±HH:MM`);
  const offsetMinutes = offset[1] ? (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) : 0;
  const utcMinutes = toDay(date) * 1440 + Number(time[1]) * 60 + Number(time[2]) - offsetMinutes;
  const utcDay = Math.floor(utcMinutes / 1440);
  const minuteOfDay = utcMinutes - utcDay * 1440;
  return {
    dueAt: `${toIso(utcDay)}T${pad2(Math.floor(minuteOfDay / 60))}:${pad2(minuteOfDay % 60)}:00.000Z`,
    dueAtMs: utcMinutes * 60_000,
    dueAtLocal: `${date}T${cutoff.time}:00${cutoff.utcOffset}`,
  };
}

/**
 * A date range of closed days wide enough to resolve the given deadlines of a period: the period itself plus,
 * either side, twice the largest business-day offset and two weeks (weekends take 2 of every 7 days; the two
 * weeks absorb holiday clusters). Should holidays ever eat more, the calendar's coverage check says so.
 */
export function calendarWindow(
  periodStart: string,
  periodEnd: string,
  deadlines: readonly (string | DeadlineSpec)[],
): { from: string; to: string } {
  let back = 0;
  let forward = 0;
  for (const d of deadlines) {
    const spec = typeof d === 'string' ? parseDeadline(d) : d;
    if (spec.anchor === 'period_end' && spec.unit === 'days') continue;
    // BD0 and BD-n first step back to the last business day on or before the period end.
    const extra = spec.anchor === 'business_day' && spec.offset <= 0 ? 1 : 0;
    back = Math.max(back, -spec.offset + extra);
    forward = Math.max(forward, spec.offset);
  }
  return {
    from: toIso(Math.min(toDay(periodStart, 'period start'), toDay(periodEnd, 'period end') - 2 * back - 14)),
    to: toIso(toDay(periodEnd) + 2 * forward + 14),
  };
}
