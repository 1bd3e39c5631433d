// The close plan: one plain object (JSON or YAML) that says what a month-end close consists of. The same object is
// what `finflow close start`, the library's builders and a plain `temporal workflow start --input` hand to the
// close workflow, so it is checked here once, completely: every problem is reported with its path, and unknown
// fields are refused rather than ignored (a misspelt "predecesors" must not silently drop a dependency).
import { z } from 'zod';
import { isIsoDate } from './civil-date';
import { parseDeadline, cutoffSchema } from './deadline';
import { durationSchema, positiveDurationSchema } from '../duration';
import { DEFAULT_FISCAL_CALENDAR, fiscalCalendarSchema, parsePeriodKey, weekdaySchema } from './fiscal-calendar';
import { DEPENDENCY_TYPES, type GraphNode, graphIssues } from './task-graph';

/** The alphabet of workflow ids (domain/ids.ts): task ids become part of child workflow ids. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const TASK_KINDS = [
  'manual',
  'reconciliation',
  'approval',
  'journal_entry',
  'documentation',
  'report',
  'activity',
] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const HOLIDAY_TYPES = ['public', 'bank', 'optional', 'school', 'observance'] as const;
export type HolidayType = (typeof HOLIDAY_TYPES)[number];

// Built on first use, not when the module loads: see fiscal-calendar.ts for why (every workflow the worker creates
// loads this module; only the close parses a plan).
function buildSchemas() {
  const idSchema = z
    .string({ error: 'an id is a string' })
    .regex(ID, 'an id holds only letters, digits, ".", "_" and "-", and starts with a letter or digit');
  const text = (what: string) =>
    z
      .string({ error: `${what} is a string` })
      .trim()
      .min(1, `${what} may not be empty`);

  const isoDateSchema = z.string().refine(isIsoDate, 'expected an ISO date yyyy-mm-dd');

  const deadlineSchema = z.string({ error: 'a deadline is a string such as "BD+3"' }).superRefine((v, ctx) => {
    try {
      parseDeadline(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });

  const predecessorObject = z.strictObject(
    {
      task: idSchema,
      /** FS (default): start after a clean finish; SS_WARN: after a finish with or without warnings; FF: finish after. */
      type: z
        .enum(DEPENDENCY_TYPES, { error: `a dependency type is one of ${DEPENDENCY_TYPES.join(', ')}` })
        .default('FS'),
    },
    { error: (iss) => (iss.code === 'invalid_type' ? 'a predecessor is a task id or { task, type }' : undefined) },
  );
  /** "a" is shorthand for { task: "a", type: "FS" }; the parsed plan always has the long form. */
  const predecessorSchema = z.preprocess((v) => (typeof v === 'string' ? { task: v } : v), predecessorObject);

  /** Temporal's RetryPolicy, with durations written as "30s", "5m". */
  const retryPolicySchema = z.strictObject({
    maximumAttempts: z.number().int('maximumAttempts is a whole number').min(1, 'maximumAttempts is at least 1'),
    initialInterval: positiveDurationSchema.optional(),
    backoffCoefficient: z.number().min(1, 'backoffCoefficient is at least 1').optional(),
    maximumInterval: positiveDurationSchema.optional(),
    nonRetryableErrorTypes: z.array(text('an error type')).optional(),
  });

  /** Where business days come from: public holidays of a place (resolved by activities/calendar.ts) plus company days. */
  const holidayConfigSchema = z.strictObject({
    /** ISO 3166-1 alpha-2, e.g. "US", "DE", "GB"; absent for weekends and company closed days only. */
    country: z
      .string()
      .regex(/^[A-Za-z]{2}$/, 'country is a two-letter ISO 3166-1 code such as "US"')
      .optional(),
    /** e.g. "BY" for Bavaria, "ENG" for England, "NY". */
    state: z
      .string()
      .regex(/^[A-Za-z0-9]{1,6}$/, 'state is a short code such as "BY" or "NY"')
      .optional(),
    region: z
      .string()
      .regex(/^[A-Za-z0-9]{1,10}$/, 'region is a short code')
      .optional(),
    /** Which holiday types close the office; default ["public"]. */
    types: z
      .array(z.enum(HOLIDAY_TYPES, { error: `a holiday type is one of ${HOLIDAY_TYPES.join(', ')}` }))
      .min(1, 'types lists at least one holiday type')
      .optional(),
    /** Holidays of part of a day (Christmas Eve from 14:00): business days ('open', the default) or closed. */
    partialDays: z.enum(['open', 'closed'], { error: "partialDays is 'open' or 'closed'" }).optional(),
    /** Company-specific closed days. */
    closedDays: z.array(isoDateSchema).optional(),
    /** Default saturday and sunday. */
    weekend: z
      .array(weekdaySchema)
      .refine((w) => new Set(w).size < 7, 'a week needs at least one business day')
      .optional(),
  });

  const closeTaskSchema = z.strictObject({
    id: idSchema,
    name: text('name'),
    description: text('description').optional(),
    kind: z.enum(TASK_KINDS, { error: `kind is one of ${TASK_KINDS.join(', ')}` }),
    /** For kind 'activity': the name of the registered activity to run. */
    activity: z
      .string()
      .regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, 'activity is the name of a registered activity')
      .optional(),
    ownerRole: text('ownerRole'),
    predecessors: z.array(predecessorSchema).default([]),
    deadline: deadlineSchema.optional(),
    /** Elapsed time the task is expected to take ("2h", "1d"): feeds the critical path. */
    expectedDuration: durationSchema.optional(),
    /** What counts as done, in words shown to the owner and in the close report. */
    doneWhen: text('doneWhen').optional(),
    retry: retryPolicySchema.optional(),
    /** Kind-specific settings (reconciliation spec, approval policy, ...), checked by their own schemas. */
    config: z.record(z.string(), z.unknown()).default({}),
  });

  const planObject = z.strictObject({
    company: idSchema,
    /** "2026-10" (calendar-month calendars) or "FY2026-P10". */
    period: z.string({ error: 'period is a string such as "2026-10" or "FY2026-P10"' }),
    name: text('name').optional(),
    /** Whoever answers for the close as a whole (a role or a person); told when a task is late. */
    owner: text('owner'),
    fiscalCalendar: fiscalCalendarSchema.optional(),
    holidays: holidayConfigSchema.optional(),
    /** The deadline of the close as a whole. */
    deadline: deadlineSchema.optional(),
    /** Time of day deadlines fall due; default 23:59 UTC (see deadline.ts for why an offset, not a zone). */
    cutoff: cutoffSchema.optional(),
    maxParallel: z.number().int('maxParallel is a whole number').min(1, 'maxParallel is at least 1').optional(),
    tasks: z.array(closeTaskSchema).min(1, 'a close plan has at least one task'),
  });

  const closePlanSchema = planObject.superRefine(
    (plan, ctx) => {
      for (const issue of crossIssues(plan)) ctx.addIssue({ code: 'custom', ...issue });
    },
    // Run the cross checks even when a field failed, on whatever parsed, so the author sees every problem at once.
    { when: () => true },
  );
  return { retryPolicySchema, holidayConfigSchema, closeTaskSchema, closePlanSchema };
}
let built: ReturnType<typeof buildSchemas> | undefined;
const schemas = () => (built ??= buildSchemas());

/** Temporal's RetryPolicy, with durations written as "30s", "5m". */
export const retryPolicySchema = z.lazy(() => schemas().retryPolicySchema);
export const holidayConfigSchema = z.lazy(() => schemas().holidayConfigSchema);
export type HolidayConfig = z.output<typeof holidayConfigSchema>;
export const closeTaskSchema = z.lazy(() => schemas().closeTaskSchema);
export type CloseTask = z.output<typeof closeTaskSchema>;

type Issue = { path: (string | number)[]; message: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks across fields, run even when some fields are wrong so that one pass reports everything. */
function crossIssues(plan: unknown): Issue[] {
  if (!isRecord(plan)) return [];
  const issues: Issue[] = [];
  const calendar = fiscalCalendarSchema.safeParse(plan.fiscalCalendar ?? DEFAULT_FISCAL_CALENDAR);
  if (calendar.success && typeof plan.period === 'string')
    try {
      parsePeriodKey(plan.period, calendar.data);
    } catch (e) {
      issues.push({ path: ['period'], message: (e as Error).message });
    }
  if (!Array.isArray(plan.tasks)) return issues;
  const nodes: GraphNode[] = [];
  plan.tasks.forEach((t: unknown, index) => {
    if (!isRecord(t)) return;
    if (t.kind === 'activity' && t.activity === undefined)
      issues.push({ path: ['tasks', index, 'activity'], message: 'a task of kind activity names the activity to run' });
    if (t.kind !== 'activity' && t.kind !== undefined && t.activity !== undefined)
      issues.push({
        path: ['tasks', index, 'activity'],
        message: `only a task of kind activity names an activity (this one is ${String(t.kind)})`,
      });
    if (typeof t.id !== 'string') return;
    const preds = Array.isArray(t.predecessors) ? (t.predecessors as unknown[]) : [];
    nodes.push({
      id: t.id,
      index,
      predecessors: preds.flatMap((p, i) => {
        // Predecessors arrive here in the long form: the schema's preprocess has already expanded "a".
        const task = isRecord(p) ? p.task : undefined;
        if (typeof task !== 'string') return [];
        const type =
          isRecord(p) && DEPENDENCY_TYPES.includes(p.type as never)
            ? (p.type as GraphNode['predecessors'][0]['type'])
            : 'FS';
        return [{ task, type, index: i }];
      }),
    });
  });
  for (const g of graphIssues(nodes)) issues.push({ path: ['tasks', ...g.path], message: g.message });
  return issues;
}

export const closePlanSchema = z.lazy(() => schemas().closePlanSchema);
export type ClosePlan = z.output<typeof closePlanSchema>;
export type ClosePlanInput = z.input<typeof closePlanSchema>;

export interface PlanIssue {
  /** e.g. "tasks[3].predecessors[0]". */
  path: string;
  /** The id of the task the path is in, when it has one. */
  task?: string;
  message: string;
}

export class ClosePlanError extends Error {
  constructor(
    readonly issues: PlanIssue[],
    source?: string,
  ) {
    const head = `close plan${source ? ` ${source}` : ''} is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}):`;
    const lines = issues.map((i) => `  - ${i.path || '(plan)'}${i.task ? ` [task ${i.task}]` : ''}: ${i.message}`);
    super([head, ...lines].join('\n'));
    this.name = 'ClosePlanError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/**
 * A close plan from parsed JSON or YAML. Throws ClosePlanError listing every problem with its path (and the
 * task it is in); `source` (e.g. a file name) heads the message.
 */
export function parseClosePlan(input: unknown, source?: string): ClosePlan {
  const r = schemas().closePlanSchema.safeParse(input);
  if (r.success) return r.data;
  const tasks = isRecord(input) && Array.isArray(input.tasks) ? (input.tasks as unknown[]) : [];
  const issues = r.error.issues.flatMap((iss): PlanIssue[] => {
    const paths =
      iss.code === 'unrecognized_keys' ? iss.keys.map((k) => [...iss.path, k]) : [iss.path as PropertyKey[]];
    return paths.map((path) => {
      const t = path[0] === 'tasks' && typeof path[1] === 'number' ? tasks[path[1]] : undefined;
      const issue: PlanIssue = {
        path: formatPath(path),
        message: iss.code === 'unrecognized_keys' ? 'unknown field' : iss.message,
      };
      if (isRecord(t) && typeof t.id === 'string') issue.task = t.id;
      return issue;
    });
  });
  throw new ClosePlanError(issues, source);
}
