// Sends a task action (complete, rerun, waive, reassign, skip, ...) to a close: the one sender the CLI (`finflow
// task ...`) and the approval gateway (`POST /task-actions`) share, so a refusal comes back the same way to both.
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { submitTaskActionUpdate } from '../workflows/definitions';
import type { TaskAction, TaskActionAnswer } from '../contracts';

/** Sends a task action through the update; a refusal by the validator comes back as a refused answer. */
export async function submitTaskAction(client: Client, closeId: string, action: TaskAction): Promise<TaskActionAnswer> {
  try {
    return await client.workflow.getHandle(closeId).executeUpdate(submitTaskActionUpdate, { args: [action] });
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    const cause = err.cause as { message?: string } | undefined;
    return { accepted: false, action: action.action, taskId: action.taskId, message: cause?.message ?? err.message };
  }
}
