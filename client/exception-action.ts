// Sends a person's signed exception action (explain, resolve, reopen, carry forward) to the close that ran the
// reconciliation: the one sender the CLI (`finflow exceptions ...`) and the approval gateway (`POST
// /exception-actions`) share, so a refusal comes back the same way to both.
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { ExceptionActionOutcome } from '../activities/exceptions/signed-action';
import type { ExceptionActionRequest } from '../workflows/close/exception-actions';
import { submitExceptionActionUpdate } from '../workflows/definitions';

/** The close's validator turned the request away (an unknown task, a reconciliation with no run yet). */
export class ExceptionActionRequestError extends Error {
  override name = 'ExceptionActionRequestError';
}

/**
 * Sends the action through the close's update. The validator's refusal (an unknown task, a reconciliation with no
 * run yet) is not an action anybody took and leaves no record: it comes back as an error naming the problem.
 */
export async function submitExceptionAction(
  client: Client,
  closeId: string,
  req: ExceptionActionRequest,
): Promise<ExceptionActionOutcome> {
  try {
    return await client.workflow.getHandle(closeId).executeUpdate(submitExceptionActionUpdate, { args: [req] });
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    throw new ExceptionActionRequestError((err.cause as { message?: string } | undefined)?.message ?? err.message);
  }
}
