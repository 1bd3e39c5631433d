// A reconciliation's exceptions as evidence: each with both sides' amounts, its difference and what people did about
// it (explained, resolved, adjusted, written off, carried forward), by whom and when.
import { RESOLUTION_STATUSES, type EvidenceInputRaw } from '../../domain/compliance/evidence';
import type { ExceptionRow } from '../result-store';
import type { LifecycleRow } from '../result-store/exception-actions';

const CATEGORY = /^[a-z][a-z0-9_]*$/;

/**
 * A suggested match a person decided (domain/exceptions/suggestions.ts) is settled, not open: confirmed, its records
 * are a match naming who confirmed it; rejected, they are open exceptions of their own (`returned:<id>:...`), which
 * the evidence lists and judges separately.
 */
function suggestionDecided(state: string, by: string | null, at: string | null) {
  if (state === 'confirmed')
    return { status: 'resolved' as const, by, at, note: `suggested match confirmed by ${by ?? ''}: matched` };
  if (state === 'rejected')
    return {
      status: 'resolved' as const,
      by,
      at,
      note: `suggested match rejected by ${by ?? ''}: its records returned to the exceptions`,
    };
  return undefined;
}

/** A result-store exception as evidence: `explained` counts as resolved by whoever explained it, and says so. */
export function exceptionEvidence(reconId: string, x: ExceptionRow): EvidenceInputRaw['exceptions'][number] {
  const category = CATEGORY.test(x.category)
    ? x.category
    : x.category
        .toLowerCase()
        .replace(/[^a-z0-9_]+/g, '_')
        .replace(/^[^a-z]+/, 'x_') || 'uncategorised';
  const difference = x.difference ?? x.amount ?? '0';
  const decided = suggestionDecided(x.status, x.resolvedBy, x.resolvedAt);
  const resolution = decided
    ? decided
    : x.status === 'resolved'
      ? { status: 'resolved' as const, by: x.resolvedBy, at: x.resolvedAt, note: x.explanation }
      : x.status === 'explained'
        ? {
            status: 'resolved' as const,
            by: x.explainedBy,
            at: x.explainedAt,
            note: `explained: ${x.explanation ?? ''}`,
          }
        : x.status === 'carried_forward'
          ? {
              status: 'carried_forward' as const,
              by: x.explainedBy,
              at: x.explainedAt,
              note: `carried forward; explained: ${x.explanation ?? ''}`,
            }
          : { status: 'open' as const, note: x.explanation };
  if (!RESOLUTION_STATUSES.includes(resolution.status)) throw new Error(`unknown resolution ${resolution.status}`);
  const iso = (v: string | null | undefined) => (v ? new Date(v).toISOString() : null);
  return {
    id: `${reconId}:${x.itemId}`,
    reconId,
    key: x.key,
    category,
    amountA: x.amountA ?? (x.side === 'a' ? x.amount : null),
    amountB: x.amountB ?? (x.side === 'b' ? x.amount : null),
    difference,
    resolution: { ...resolution, at: iso(resolution.at as string | null | undefined) },
  };
}

/** An exception with its lifecycle as evidence: an adjusting entry as `adjusted` with its reference, a write-off as
 * `written_off`, an explanation with its reason code, each with who and when. */
export function lifecycleEvidence(reconId: string, x: LifecycleRow): EvidenceInputRaw['exceptions'][number] {
  const iso = (v: string | null) => (v ? new Date(v).toISOString() : null);
  const explained = x.explanation
    ? `explained${x.reasonCode ? ` (${x.reasonCode})` : ''}${x.explainedBy ? ` by ${x.explainedBy}` : ''}: ${x.explanation}`
    : null;
  const resolution = (() => {
    const decided = suggestionDecided(x.state, x.resolvedBy, iso(x.resolvedAt));
    if (decided) return decided;
    if (x.state === 'resolved') {
      const kind = x.resolutionKind;
      const what =
        kind === 'adjusting_entry'
          ? `adjusting entry ${x.resolutionReference ?? ''} of ${x.resolutionAmount ?? ''}`
          : (kind ?? 'resolved').replace(/_/g, ' ');
      return {
        status:
          kind === 'adjusting_entry'
            ? ('adjusted' as const)
            : kind === 'write_off'
              ? ('written_off' as const)
              : ('resolved' as const),
        by: x.resolvedBy,
        at: iso(x.resolvedAt),
        note: [`${what}: ${x.resolution ?? ''}`, explained].filter(Boolean).join('; '),
        reference: x.resolutionReference,
      };
    }
    if (x.state === 'explained' || x.state === 'carried_forward')
      return {
        status: x.state === 'explained' ? ('resolved' as const) : ('carried_forward' as const),
        by: x.explainedBy,
        at: iso(x.explainedAt),
        note: x.state === 'explained' ? explained : `carried forward; ${explained ?? ''}`,
      };
    return { status: 'open' as const, note: explained ? `reopened; was ${explained}` : null };
  })();
  const base = exceptionEvidence(reconId, {
    itemId: x.itemId,
    key: x.key,
    category: x.category,
    side: x.side,
    difference: x.difference,
    amount: x.itemAmount,
    amountA: x.amountA,
    amountB: x.amountB,
    status: 'open',
    explanation: null,
  } as unknown as ExceptionRow);
  return { ...base, resolution };
}
