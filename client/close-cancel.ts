// Cancels a close (issue 16): the one sender `finflow close cancel` and the library's `Execution.cancel()` share.
// It signals the `cancelRequest` note (who and why: Temporal's cancellation request carries neither into the
// workflow), then sends Temporal's cancellation request. The close ends cancelled: its running reconciliations,
// activities and timers are cancelled, the note is journaled and sent to the audit ledger (as claimed, unsigned).
import type { Client } from '@temporalio/client';
import { cancelRequestOf } from '../domain/close/cancellation';
import { cancelRequestSignal } from '../workflows/definitions';

export interface CloseCancelOptions {
  /** Who cancels (recorded as claimed). */
  by: string;
  reason?: string;
}

/** Sends the note and the cancellation request; refuses a close that is not running, naming its state. */
export async function cancelClose(client: Client, closeId: string, o: CloseCancelOptions): Promise<void> {
  const got = cancelRequestOf(o);
  if ('problem' in got) throw new Error(got.problem);
  const handle = client.workflow.getHandle(closeId);
  const status = (await handle.describe()).status.name;
  if (status !== 'RUNNING') throw new Error(`${closeId} is ${status.toLowerCase()}: there is nothing to cancel`);
  await handle.signal(cancelRequestSignal, got.request);
  await handle.cancel();
}
