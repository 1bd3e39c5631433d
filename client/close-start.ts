// Starts a close: the one module `finflow close start` and the library's `engine.execute` share. The workflow id
// comes from the business key (close:<company>:<period>), so starting the same close twice is a no-op that says so.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { ClosePlanError } from '../domain/close/plan';
import { taskConfigIssues } from '../domain/close/task-configs';
import { asWrittenInFile } from './close-plan-file';
import { closeWorkflowId } from '../domain/ids';
import { reconciliationTaskQueueOf, type TemporalConfig } from '../platform/config';
import { FINFLOW_CLOSE_STATUS, FINFLOW_COMPANY, FINFLOW_PERIOD } from '../workflows/close-schedule';
import type { CloseWorkflowInput } from '../workflows/types';

/** A search attribute the namespace does not know: say how to register it instead of the server's bare error. */
export function explainSearchAttributeError(err: unknown): unknown {
  const msg = (err as Error)?.message ?? '';
  if (/search attribute/i.test(msg) && /Finflow/.test(msg))
    return new Error(
      `${msg}\nThe namespace lacks finflow's search attributes: register them with\n` +
        '  temporal operator search-attribute create --name FinflowCompany --type Keyword  (and FinflowPeriod, FinflowCloseStatus)\n' +
        'or start with --no-search-attributes.',
    );
  return err;
}

/**
 * Starts the close workflow for a close input (a plan with its run options). The reconciliation children go to
 * the worker's second queue unless the input names one. `started` is false when the close already ran or runs.
 * Every task's config is checked first (ClosePlanError with each problem's path): a definition that does not
 * parse must stop the close now, not when that task's turn comes days later.
 */
export async function startClose(
  client: Client,
  config: Pick<TemporalConfig, 'taskQueue' | 'reconciliationTaskQueue'>,
  input: CloseWorkflowInput & { company: string; period: string },
  opts: { searchAttributes?: boolean } = {},
): Promise<{ workflowId: string; started: boolean }> {
  const found = taskConfigIssues(input);
  if (found.length) {
    const { issues, source } = asWrittenInFile(input, found);
    throw new ClosePlanError(issues, source);
  }
  const workflowId = closeWorkflowId(input.company, input.period);
  try {
    await client.workflow.start('monthEndCloseWorkflow', {
      taskQueue: config.taskQueue,
      workflowId,
      // A close that completed is done: starting it again is the no-op DESIGN.md promises. One that failed or was
      // terminated may start afresh.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      args: [
        {
          reconciliationTaskQueue: reconciliationTaskQueueOf(config),
          ...input,
          ...(opts.searchAttributes ? { searchAttributes: true } : {}),
        },
      ],
      ...(opts.searchAttributes
        ? {
            // Set at start so the close is findable before its first workflow task runs.
            typedSearchAttributes: [
              { key: FINFLOW_COMPANY, value: input.company },
              { key: FINFLOW_PERIOD, value: input.period },
              { key: FINFLOW_CLOSE_STATUS, value: 'running' },
            ],
          }
        : {}),
    });
    return { workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw explainSearchAttributeError(err);
  }
}
