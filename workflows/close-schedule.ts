// Recurring closes: a Temporal Schedule (`finflow close schedule`) starts this small workflow with the same plan
// every time; it works out which period that start closes and starts that period's monthEndCloseWorkflow. A
// Schedule cannot change its action's input from one run to the next, so the rolling happens here, from the
// scheduled time, which is a fact of the run (TemporalScheduledStartTime) and so is replay-safe.
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/common';
import {
  ApplicationFailure,
  ParentClosePolicy,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import {
  DEFAULT_FISCAL_CALENDAR,
  fiscalCalendarSchema,
  fiscalPeriodOf,
  shiftPeriod,
  type FiscalCalendar,
} from '../domain/close/fiscal-calendar';
import { closeWorkflowId } from '../domain/ids';
import type { monthEndCloseWorkflow } from './month-end-close';

/** The close's search attributes (registered on the dev server by scripts/lib/dev-server.ts). */
export const FINFLOW_COMPANY = defineSearchAttributeKey('FinflowCompany', SearchAttributeType.KEYWORD);
export const FINFLOW_PERIOD = defineSearchAttributeKey('FinflowPeriod', SearchAttributeType.KEYWORD);
export const FINFLOW_CLOSE_STATUS = defineSearchAttributeKey('FinflowCloseStatus', SearchAttributeType.KEYWORD);
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export interface ScheduledCloseInput {
  /** The close plan (the file `finflow close schedule` read); its period, if any, is replaced on every run. */
  plan: { company: string; period?: string; fiscalCalendar?: unknown; [field: string]: unknown };
  /** Set the close's search attributes (the namespace must have them registered). */
  searchAttributes?: boolean;
  /** ISO instant standing in for the scheduled time (tests, backfills by hand); default the schedule's time. */
  at?: string;
}

export interface ScheduledCloseResult {
  closeWorkflowId: string;
  period: string;
  /** The instant the period was worked out from. */
  at: string;
  /** false: that period's close was already running or had completed, and was left alone. */
  started: boolean;
}

/**
 * The period a close started at `at` is for: the latest fiscal period that ended before `at`'s (UTC) day. Fired on
 * 1 November, or on 3 November, it closes October; the period key is that calendar's ("2026-10", "FY2026-P10").
 */
export function periodToClose(at: string, calendar: FiscalCalendar = DEFAULT_FISCAL_CALENDAR): string {
  // The period holding the day has not ended yet (it ends on or after that day): the one before it has.
  return shiftPeriod(fiscalPeriodOf(at.slice(0, 10), calendar), -1, calendar).key;
}

/** periodToClose for a plan's calendar (a plan without one uses calendar months). */
export function periodToCloseFor(plan: { fiscalCalendar?: unknown }, at: string): string {
  const calendar = plan.fiscalCalendar === undefined ? undefined : fiscalCalendarSchema.parse(plan.fiscalCalendar);
  return periodToClose(at, calendar);
}

export async function scheduledCloseWorkflow(input: ScheduledCloseInput): Promise<ScheduledCloseResult> {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(SCHEDULED_START);
  const at = input.at ?? (scheduled ?? info.runStartTime).toISOString();
  let period: string;
  let workflowId: string;
  try {
    period = periodToCloseFor(input.plan, at);
    workflowId = closeWorkflowId(input.plan.company, period);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `scheduled close of ${input.plan.company}: ${(err as Error).message}`,
      'InvalidClosePlan',
    );
  }
  const closeInput = {
    ...input.plan,
    period,
    ...(input.searchAttributes ? { searchAttributes: true } : {}),
  } as unknown as Parameters<typeof monthEndCloseWorkflow>[0];
  try {
    await startChild<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
      workflowId,
      args: [closeInput],
      // The close outlives this starter: it runs for days, the starter ends once the close has started.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A period closed once is not closed again by a late or repeated trigger; a failed close may be retried.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      ...(input.searchAttributes
        ? {
            typedSearchAttributes: [
              { key: FINFLOW_COMPANY, value: input.plan.company },
              { key: FINFLOW_PERIOD, value: period },
              { key: FINFLOW_CLOSE_STATUS, value: 'running' },
            ],
          }
        : {}),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      return { closeWorkflowId: workflowId, period, at, started: false };
    throw err;
  }
  return { closeWorkflowId: workflowId, period, at, started: true };
}
