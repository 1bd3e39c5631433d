// A close's cancellation (issue 16): the `cancelRequest` note that names who cancels and why (Temporal's own
// cancellation request carries neither into the workflow), and what the close writes when it is cancelled: one
// journal entry and the `cancellation` of its status, with the proof of who cancelled when the note came signed and
// verified, or why `by` stands as claimed. Temporal's cancellation itself cannot be refused: an unproven note does
// not stop it, it is recorded as unproven. Pure: the close applies it.
import type { CloseCancellation, CloseCancelRequest, CloseJournalEntry } from '../../contracts/close';

/** Who cancelled, when the cancellation request came without a note (the temporal CLI, a raw client). */
export const UNKNOWN_CANCELLER = 'unknown';
export const MAX_CANCEL_BY = 256;
export const MAX_CANCEL_REASON = 2000;
export const MAX_CANCEL_TOKEN = 16_000;

/** What the close found of the note's signature: proof of who cancelled, or why `by` stands as claimed. */
export type CancelProof =
  { signed: { kid: string; nonce: string; issuer: string }; notAllowed?: string } | { unproven: string };

/** An unsigned note (no token, or a close that predates signed notes) stands as claimed. */
export const UNSIGNED_NOTE = 'as claimed: the cancelRequest note was not signed';

/** The note as the close keeps it, or why it is refused (a note of the wrong shape is not kept). */
export function cancelRequestOf(raw: unknown): { request: CloseCancelRequest } | { problem: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: 'cancelRequest: not an object' };
  const { by, reason } = raw as Record<string, unknown>;
  if (typeof by !== 'string' || by.trim() === '') return { problem: 'cancelRequest.by: a person id is required' };
  if (by.length > MAX_CANCEL_BY) return { problem: `cancelRequest.by: over ${MAX_CANCEL_BY} characters` };
  if (reason !== undefined && typeof reason !== 'string') return { problem: 'cancelRequest.reason: not a string' };
  if (typeof reason === 'string' && reason.length > MAX_CANCEL_REASON)
    return { problem: `cancelRequest.reason: over ${MAX_CANCEL_REASON} characters` };
  const { token } = raw as Record<string, unknown>;
  if (token !== undefined && (typeof token !== 'string' || token === '' || token.length > MAX_CANCEL_TOKEN))
    return { problem: `cancelRequest.token: a signed token of at most ${MAX_CANCEL_TOKEN} characters` };
  return {
    request: {
      by: by.trim(),
      ...(reason?.trim() ? { reason: reason.trim() } : {}),
      ...(typeof token === 'string' ? { token } : {}),
    },
  };
}

/** What the close records when it is cancelled: the status's `cancellation` and the journal entry saying so. */
export function cancellationRecord(
  request: CloseCancelRequest | undefined,
  at: string,
  tasksCancelled: string[],
  /** What the close found of the note's signature; absent: closes from before signed notes (nothing recorded). */
  proof?: CancelProof,
): { cancellation: CloseCancellation; entry: CloseJournalEntry } {
  const by = request?.by ?? UNKNOWN_CANCELLER;
  const reason = request?.reason ?? (request ? undefined : 'cancellation requested without a cancelRequest note');
  const signed = proof && 'signed' in proof ? proof.signed : undefined;
  const unproven = proof && 'unproven' in proof ? proof.unproven : undefined;
  const notAllowed = proof && 'signed' in proof ? proof.notAllowed : undefined;
  const cancellation: CloseCancellation = {
    at,
    by,
    tasksCancelled,
    ...(reason ? { reason } : {}),
    ...(signed ? { signed } : {}),
    ...(unproven ? { unproven } : {}),
    ...(notAllowed ? { notAllowed } : {}),
  };
  const tasks = tasksCancelled.length ? `tasks cancelled: ${tasksCancelled.join(', ')}` : 'no task was running';
  const note = unproven || notAllowed ? `${tasks}; ${unproven ?? notAllowed}` : tasks;
  const entry: CloseJournalEntry = {
    at,
    by,
    action: 'cancel',
    accepted: true,
    note,
    ...(reason ? { reason } : {}),
    ...(signed ? { signed } : {}),
  };
  return { cancellation, entry };
}

/**
 * What a verified cancel token proves for the note: the signer must be the person the note names, and the token
 * must sign a cancellation; `authority` says why the signer may not cancel this close (recorded, since Temporal's
 * cancellation has already happened).
 */
export function cancelProofOf(
  request: CloseCancelRequest,
  verified: { action: string; by: string; reason?: string; proof: { kid: string; nonce: string; issuer: string } },
  authority: string | undefined,
): CancelProof {
  if (verified.action !== 'cancel')
    return { unproven: `as claimed: the note's token signs a ${verified.action}, not a cancellation` };
  if (verified.by !== request.by)
    return { unproven: `as claimed: the note's token is signed by ${verified.by}, not by ${request.by}` };
  if ((verified.reason ?? undefined) !== (request.reason ?? undefined))
    return { unproven: "as claimed: the note's reason differs from the one signed" };
  const { kid, nonce, issuer } = verified.proof;
  return { signed: { kid, nonce, issuer }, ...(authority ? { notAllowed: `not theirs to cancel: ${authority}` } : {}) };
}
