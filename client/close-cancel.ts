// Cancels a close (issue 16): the one sender `finflow close cancel` and the library's `Execution.cancel()` share.
// It signals the `cancelRequest` note (who and why: Temporal's cancellation request carries neither into the
// workflow), then sends Temporal's cancellation request. The close ends cancelled: its running reconciliations,
// activities and timers are cancelled, the note is journaled and sent to the audit ledger. Signed with the person's
// own key (a task-action token, action 'cancel'), the note proves who cancelled; unsigned, the record says `by`
// stands as claimed.
import type { Client } from '@temporalio/client';
import { APPROVAL_AUDIENCE, CLI_ISSUER } from '../activities/approval';
import type { ApprovalSigningKey } from '../activities/approval/signing';
import { signTaskAction } from '../activities/approval/task-action-token';
import { cancelRequestOf } from '../domain/close/cancellation';
import { cancelRequestSignal } from '../workflows/definitions';

export interface CloseCancelOptions {
  /** Who cancels: proven when the note is signed with their key, recorded as claimed otherwise. */
  by: string;
  reason?: string;
  /** The canceller's own signing key (registered in the worker's user key directory). */
  signingKey?: ApprovalSigningKey;
  /** The signing time (default now; a test on a time-skipping server passes the server's clock). */
  now?: Date;
}

/** Sends the note and the cancellation request; refuses a close that is not running, naming its state. */
export async function cancelClose(client: Client, closeId: string, o: CloseCancelOptions): Promise<void> {
  const token = o.signingKey
    ? (
        await signTaskAction(
          { workflowId: closeId, action: 'cancel', by: o.by, ...(o.reason?.trim() ? { reason: o.reason } : {}) },
          o.signingKey,
          { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, ...(o.now ? { now: o.now } : {}) },
        )
      ).token
    : undefined;
  const got = cancelRequestOf({ by: o.by, reason: o.reason, ...(token ? { token } : {}) });
  if ('problem' in got) throw new Error(got.problem);
  const handle = client.workflow.getHandle(closeId);
  const status = (await handle.describe()).status.name;
  if (status !== 'RUNNING') throw new Error(`${closeId} is ${status.toLowerCase()}: there is nothing to cancel`);
  await handle.signal(cancelRequestSignal, got.request);
  await handle.cancel();
}
