// The preparer's certification of a reconciliation (issue 15): "I certify this reconciliation is complete", signed
// by a holder of the reconciliation's owner role like every other exception action, for one result-store run. It
// names no items: it carries the count and per-currency totals of the run's exceptions the preparer saw (the store
// refuses it when they no longer add up) and records how many stood in each state when it was given.
//
// When it counts: a certification speaks for the exceptions as they stood. Any accepted action on the run's
// exceptions after it (an explanation amended, a resolution, a reopen, a suggestion decided) supersedes it: the
// preparer certifies again. An approval checkpoint that requires certification refuses an approval until the
// run's latest certification stands (domain/approval/exception-gate.ts). Pure: the history comes from the caller.
import { ExceptionActionError, type ExceptionState } from './lifecycle';

export type CertifyAction = { action: 'certify'; text: string };

export function isCertifyAction(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as Record<string, unknown>).action === 'certify';
}

/** Checks a certification as a person sent it: its statement text, nothing else. */
export function parseCertifyAction(raw: unknown, where = 'exception action'): CertifyAction {
  if (!isCertifyAction(raw)) throw new ExceptionActionError('InvalidExceptionAction', `${where}.action: not certify`);
  const r = raw as Record<string, unknown>;
  const extra = Object.keys(r).filter((k) => k !== 'action' && k !== 'text');
  if (extra.length)
    throw new ExceptionActionError('InvalidExceptionAction', `${where}: certify takes no ${extra.join(', ')}`);
  if (typeof r.text !== 'string' || !r.text.trim())
    throw new ExceptionActionError(
      'InvalidExceptionAction',
      `${where}.text: a certification states what is certified (a non-empty text)`,
    );
  return { action: 'certify', text: r.text.trim() };
}

/** How many of the run's exceptions stood in each state (states with none left out), in a stable order. */
export function countsByState(items: Iterable<{ state: ExceptionState }>): Partial<Record<ExceptionState, number>> {
  const counts = new Map<ExceptionState, number>();
  for (const x of items) counts.set(x.state, (counts.get(x.state) ?? 0) + 1);
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** One row of a run's action history, as the certification rule reads it. */
export interface CertificationHistoryRow {
  seq: number;
  action: string;
  by: string;
  at: string;
  accepted: boolean;
}

export type CertificationStatus =
  { certified: true; by: string; at: string; seq: number } | { certified: false; reason: string };

/** Whether the run's latest accepted certification stands, and if not, why (for the refusal). */
export function certificationOf(history: readonly CertificationHistoryRow[]): CertificationStatus {
  const accepted = history.filter((h) => h.accepted).sort((a, b) => a.seq - b.seq);
  const last = accepted.filter((h) => h.action === 'certify').pop();
  if (!last) return { certified: false, reason: 'its preparer has not certified it' };
  const after = accepted.find((h) => h.seq > last.seq && h.action !== 'certify');
  if (after)
    return {
      certified: false,
      reason:
        `the certification by ${last.by} at ${last.at} (action ${last.seq}) was superseded by ${after.action} ` +
        `action ${after.seq} by ${after.by} at ${after.at}: its preparer certifies it again`,
    };
  return { certified: true, by: last.by, at: last.at, seq: last.seq };
}

/** The refusal an approval gets while a reconciliation's certification is missing, or nothing when it stands. */
export function certificationMissing(reconId: string, status: CertificationStatus): string | undefined {
  return status.certified ? undefined : `reconciliation ${reconId} is not certified: ${status.reason}`;
}
