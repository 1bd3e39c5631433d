// A close's cancellation (issue 16): the `cancelRequest` note that names who cancels and why (Temporal's own
// cancellation request carries neither into the workflow), and what the close writes when it is cancelled: one
// journal entry (by as claimed: the entry is unsigned) and the `cancellation` of its status. Pure: the close applies it.
import type { CloseCancellation, CloseCancelRequest, CloseJournalEntry } from '../../contracts/close';

/** Who cancelled, when the cancellation request came without a note (the temporal CLI, a raw client). */
export const UNKNOWN_CANCELLER = 'unknown';
export const MAX_CANCEL_BY = 256;
export const MAX_CANCEL_REASON = 2000;

/** The note as the close keeps it, or why it is refused (a note of the wrong shape is not kept). */
export function cancelRequestOf(raw: unknown): { request: CloseCancelRequest } | { problem: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: 'cancelRequest: not an object' };
  const { by, reason } = raw as Record<string, unknown>;
  if (typeof by !== 'string' || by.trim() === '') return { problem: 'cancelRequest.by: a person id is required' };
  if (by.length > MAX_CANCEL_BY) return { problem: `cancelRequest.by: over ${MAX_CANCEL_BY} characters` };
  if (reason !== undefined && typeof reason !== 'string') return { problem: 'cancelRequest.reason: not a string' };
  if (typeof reason === 'string' && reason.length > MAX_CANCEL_REASON)
    return { problem: `cancelRequest.reason: over ${MAX_CANCEL_REASON} characters` };
  return { request: { by: by.trim(), ...(reason?.trim() ? { reason: reason.trim() } : {}) } };
}

/** What the close records when it is cancelled: the status's `cancellation` and the journal entry saying so. */
export function cancellationRecord(
  request: CloseCancelRequest | undefined,
  at: string,
  tasksCancelled: string[],
): { cancellation: CloseCancellation; entry: CloseJournalEntry } {
  const by = request?.by ?? UNKNOWN_CANCELLER;
  const reason = request?.reason ?? (request ? undefined : 'cancellation requested without a cancelRequest note');
  const cancellation: CloseCancellation = { at, by, tasksCancelled, ...(reason ? { reason } : {}) };
  const note = tasksCancelled.length ? `tasks cancelled: ${tasksCancelled.join(', ')}` : 'no task was running';
  const entry: CloseJournalEntry = { at, by, action: 'cancel', accepted: true, note, ...(reason ? { reason } : {}) };
  return { cancellation, entry };
}
