// A close that is cancelled (issue 16). Temporal's cancellation request cancels the close's root scope: every
// wait, timer, activity and child reconciliation under way is cancelled with it. The close then ends cleanly
// instead of failing its workflow task on the CancelledFailure (as it did before this, for ever): it waits, shielded,
// for its work to stop, marks the tasks that were running as cancelled, journals the cancellation (who and why, as
// the `cancelRequest` note said) and sends the entry to the audit ledger, sets its state to cancelled and ends as
// a cancelled workflow. No further task starts, so no evidence package is written after the request. Closes that
// ran before this replay as they did (patched).
import {
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  log,
  patched,
  setHandler,
} from '@temporalio/workflow';
import type { ApprovalActivities } from '../../activities/approval';
import { actionAuthorityProblem } from '../../domain/close/action-authority';
import {
  cancellationRecord,
  cancelProofOf,
  cancelRequestOf,
  UNSIGNED_NOTE,
  type CancelProof,
} from '../../domain/close/cancellation';
import { cancelRequestSignal } from '../definitions';
import type { TaskAction, TaskStatus } from '../types';
import { verify } from '../approval/host';
import { ledgerTaskAction } from './action-ledger';
import { failureMessage } from './runtime';
import { bump, nowIso, type CloseRun } from './state';

/** patched() id: the close handles a cancellation request (ends cancelled, with its journal entry). */
export const CLOSE_CANCELLATION = 'close-cancellation';
/** patched() id: the note's signature is checked, and the record says whether who cancelled is proven. */
export const CLOSE_CANCELLATION_SIGNED = 'close-cancellation-signed';

/**
 * Who cancelled, as proven: the note's token verified (signature, issuer, audience, lifetime, this close), signed
 * by the person the note names, for this cancellation, unused before, and whether that person may cancel the close
 * (a close manager: the close owner or a role of closeManagerRoles). Undefined for closes from before this check.
 */
async function cancelProof(r: CloseRun): Promise<CancelProof | undefined> {
  if (!patched(CLOSE_CANCELLATION_SIGNED)) return undefined;
  const request = r.cancel.request;
  if (!request?.token) return { unproven: UNSIGNED_NOTE };
  let v: Awaited<ReturnType<ApprovalActivities['verifyTaskActionSignal']>>;
  try {
    v = await verify.verifyTaskActionSignal({ token: request.token, workflowId: r.closeId, at: nowIso() });
  } catch (err) {
    return { unproven: `as claimed: the note's signature could not be checked: ${failureMessage(err)}` };
  }
  if (!v.ok) return { unproven: `as claimed: the note's signature was refused (${v.reason}): ${v.message}` };
  if (r.journal.some((j) => j.signed?.nonce === v.action.proof.nonce))
    return { unproven: `as claimed: the note's token (nonce ${v.action.proof.nonce}) was already used` };
  const authority = actionAuthorityProblem({ action: 'cancel', by: v.action.by } as unknown as TaskAction, {
    rolesOf: (userId) => r.checkpoints.rolesOf(userId),
    planOwner: r.plan.owner,
    closeManagerRoles: r.options.closeManagerRoles,
    checksManagers: () => true,
  });
  return cancelProofOf(request, v.action, authority);
}

/**
 * Listens for the cancellation and for the note naming who asks and why. Called before the close's first wait,
 * so `requested` is set before any cancelled wait of the close sees its CancelledFailure.
 */
export function watchCancellation(r: CloseRun): void {
  CancellationScope.current().cancelRequested.catch(() => {
    r.cancel.requested = true;
    bump(r);
  });
  setHandler(cancelRequestSignal, (raw) => {
    const got = cancelRequestOf(raw);
    if ('problem' in got) {
      log.warn('cancelRequest note not kept', { problem: got.problem });
      return;
    }
    r.cancel.request = got.request;
  });
}

/** `err` is the close's own cancellation reaching this code, and the close handles it (closes before this did not). */
export function cancelledWithClose(r: CloseRun, err: unknown): boolean {
  return isCancellation(err) && r.cancel.requested && patched(CLOSE_CANCELLATION);
}

/** A task whose work (or wait for a person) was cancelled with the close. */
export function cancelTask(t: TaskStatus): void {
  t.state = 'cancelled';
  t.reason = 'cancelled with the close';
  t.finishedAt = nowIso();
  t.atRisk = false;
}

/**
 * Ends a cancelled close: shielded from the cancellation, waits until no task's work is under way, records the
 * cancellation (status, journal, audit ledger, search attribute), waits for those writes, then ends the workflow
 * as cancelled.
 */
export async function endCancelled(
  r: CloseRun,
  upsertAttributes: () => void,
  /** Writes the cancelled state to the status read model (workflows/close/read-model.ts). */
  flushReadModel: () => Promise<void> = async () => undefined,
): Promise<never> {
  // Notices and ledger writes cancelled with the close settle here (a rejection nobody awaits fails the task).
  const earlier = Promise.allSettled([...r.background]);
  await CancellationScope.nonCancellable(async () => {
    await condition(() => r.inflight.size === 0 && r.waivers.size === 0);
    for (const t of r.tasks) if (t.state === 'running') cancelTask(t);
    const at = nowIso();
    const cancelled = r.tasks.filter((t) => t.state === 'cancelled').map((t) => t.id);
    const proof = await cancelProof(r);
    const { cancellation, entry } = cancellationRecord(r.cancel.request, at, cancelled, proof);
    r.cancel.done = cancellation;
    r.journal.push(entry);
    ledgerTaskAction(r, r.journal.length - 1);
    r.state = 'cancelled';
    r.finishedAt = at;
    upsertAttributes();
    bump(r);
    await earlier;
    await Promise.allSettled(r.background);
    await flushReadModel();
  });
  const { by, reason } = r.cancel.done as NonNullable<CloseRun['cancel']['done']>;
  throw new CancelledFailure(`close ${r.closeId} cancelled by ${by}${reason ? `: ${reason}` : ''}`);
}
