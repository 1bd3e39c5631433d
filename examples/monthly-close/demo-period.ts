// Which period the demo closes, and what its deadlines mean on the day it runs. A controller closes the month that
// ended last; its tasks fall due a few business days after that month's end. Run in the first business days of a
// month, the close is inside its window; run later, every deadline has passed, and the demo says so at the top
// instead of leaving a reader to wonder why each task reads "late".
import { resolveBusinessCalendar } from '../../activities/calendar';
import { monthName } from '../../domain/close/civil-date';
import { calendarWindow, resolveDeadline, type ResolvedDeadline } from '../../domain/close/deadline';
import { parseClosePlan } from '../../domain/close/plan';
import type { MonthEndCloseInput } from '../../contracts';

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

/** The month before the one `today` (yyyy-mm-dd, UTC) falls in. */
export function lastEndedPeriod(today: string): string {
  const [y, m] = today.split('-').map(Number);
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

const periodMonth = (period: string) => monthName(Number(period.slice(5, 7)));

/**
 * The plan for another period: the plan file names its period in several places (statement files, references
 * to the reconciliations, the adjusting entry's number, the close it documents), written as the period text, and
 * its approval descriptions name the month ("October close").
 */
export function withPeriod(plan: MonthEndCloseInput, period: string): MonthEndCloseInput {
  if (!PERIOD.test(period)) throw new RangeError(`--period takes yyyy-MM, got ${JSON.stringify(period)}`);
  const from = plan.period;
  const month = new RegExp(`\\b${periodMonth(from)}\\b`, 'g');
  const swap = (v: unknown): unknown =>
    typeof v === 'string'
      ? v.split(from).join(period).replace(month, periodMonth(period))
      : Array.isArray(v)
        ? v.map(swap)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]))
          : v;
  return swap(plan) as MonthEndCloseInput;
}

export interface PeriodTiming {
  period: string;
  /** The earliest and the latest task deadline, and the close's own. */
  firstDue?: ResolvedDeadline;
  lastDue?: ResolvedDeadline;
  closeDue?: ResolvedDeadline;
  /** Where `now` stands: before any deadline, between the first and the last, or after them all. */
  standing: 'ahead' | 'partly-past' | 'past' | 'no-deadlines';
}

function monthBounds(period: string): { start: string; end: string } {
  const [y, m] = period.split('-').map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { start: `${period}-01`, end: `${period}-${String(last).padStart(2, '0')}` };
}

/** The plan's deadlines for its period (calendar months, as the example plan's fiscal calendar is), against `nowMs`. */
export function periodTiming(input: MonthEndCloseInput, nowMs: number): PeriodTiming {
  // Only the plan's own fields: the workflow input also carries run options (approval policy, signing rules).
  const fields = ['company', 'period', 'name', 'owner', 'fiscalCalendar', 'holidays', 'deadline', 'cutoff', 'tasks'];
  const plan = parseClosePlan(
    Object.fromEntries(Object.entries(input).filter(([k, v]) => fields.includes(k) && v !== undefined)),
  );
  const { start, end } = monthBounds(plan.period);
  const exprs = [...plan.tasks.map((t) => t.deadline), plan.deadline].filter((d): d is string => !!d);
  if (!exprs.length) return { period: plan.period, standing: 'no-deadlines' };
  const window = calendarWindow(start, end, exprs);
  const calendar = resolveBusinessCalendar({ holidays: plan.holidays ?? {}, from: window.from, to: window.to });
  const ctx = { periodEnd: end, calendar, cutoff: plan.cutoff };
  const tasks = plan.tasks
    .filter((t) => t.deadline)
    .map((t) => resolveDeadline(t.deadline!, ctx))
    .sort((a, b) => a.dueAtMs - b.dueAtMs);
  const closeDue = plan.deadline ? resolveDeadline(plan.deadline, ctx) : undefined;
  const all = [...tasks, ...(closeDue ? [closeDue] : [])].map((d) => d.dueAtMs);
  const standing = nowMs <= Math.min(...all) ? 'ahead' : nowMs > Math.max(...all) ? 'past' : ('partly-past' as const);
  return { period: plan.period, firstDue: tasks[0], lastDue: tasks[tasks.length - 1], closeDue, standing };
}

/** The lines the demo prints first: what it closes and why its tasks will (or will not) read "late". */
export function periodLines(t: PeriodTiming, today: string, chosen: 'default' | 'flag'): string[] {
  const why =
    chosen === 'default'
      ? `the month that ended last (today is ${today} UTC)`
      : `as asked with --period (today is ${today} UTC)`;
  const lines = [`  period         ${t.period}, ${why}`];
  const span =
    t.firstDue && t.lastDue
      ? `tasks fall due ${t.firstDue.dueAtLocal} to ${t.lastDue.dueAtLocal}`
      : 'tasks have no deadlines';
  const close = t.closeDue ? `, the close by ${t.closeDue.dueAtLocal}` : '';
  lines.push(`  deadlines      ${span}${close}`);
  const more = (l: string) => lines.push(`                 ${l}`);
  if (t.standing === 'ahead') more('all still ahead: a task reads late only if it really is');
  else if (t.standing === 'partly-past')
    more('some have passed already: the tasks due before now will finish late (the close report draws them red)');
  else if (t.standing === 'past') {
    more(`all passed before this run: EVERY task will finish late, as it would for a controller closing ${t.period}`);
    more('today; the close report draws them red. `npm run demo -- --period yyyy-MM` closes another period.');
  }
  return lines;
}
