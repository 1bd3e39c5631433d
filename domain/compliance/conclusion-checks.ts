// The two checks that keep a documentation step from claiming its control held when the people's half of it was
// not done: the attestation required from a role was never given, or exceptions nobody explained remain above the
// control's materiality (part of buildEvidenceDocument's verdict, allControlsHeld); and whoever explained exceptions
// approving a reconciliation (part of the segregation of duties check). Pure.
import { segregationRefusal } from '../exceptions/lifecycle';
import { describeMaterial, unexplainedAboveMateriality } from '../exceptions/materiality';
import type { CloseCheckpoint, CloseJournalEntryLike } from './close-evidence';
import type { EvidenceInput } from './evidence';

/** A control whose attestation is required is not held until every role it is required from has attested. */
export function attestationCheck(
  requiredFrom: string[],
  given: EvidenceInput['attestations'],
  missingFrom: string[],
): { held: boolean; detail: string } {
  if (missingFrom.length)
    return {
      held: false,
      detail: `the attestation required from ${missingFrom.join(', ')} was not given`,
    };
  const by = requiredFrom.map((r) => {
    const g = given.find((x) => x.role === r) as EvidenceInput['attestations'][number];
    return `${g.id} (${r}) at ${g.at}`;
  });
  return { held: true, detail: `attested by ${by.join(', ')}` };
}

/** Not held while exceptions nobody explained or resolved remain above the control's materiality. */
export function exceptionsExplainedCheck(input: EvidenceInput): { held: boolean; detail: string } {
  const materiality = input.control.materiality ?? '0';
  const r = unexplainedAboveMateriality(
    input.exceptions.map((e) => ({ id: e.id, amount: e.difference, explained: e.resolution.status !== 'open' })),
    materiality,
    { where: `control ${input.control.controlId} materiality` },
  );
  const open = input.reconciliations.filter(
    (x) =>
      x.openExceptions !== undefined && x.openExceptions > 0 && !input.exceptions.some((e) => e.reconId === x.reconId),
  );
  // A reconciliation that reports open exceptions but lists none cannot show they are immaterial.
  const unlisted = open.map((x) => `${x.reconId}: ${x.openExceptions} open exception(s) not listed`);
  if (r.count || unlisted.length)
    return { held: false, detail: [...(r.count ? [describeMaterial(r)] : []), ...unlisted].join('; ') };
  return { held: true, detail: describeMaterial(r) };
}

/**
 * Whoever explained or resolved exceptions (the close's journal of exception actions) may not approve a
 * reconciliation: their accepted decision on a reconciliation checkpoint is a breach of segregation of duties.
 */
export function explainersWhoApproved(
  cps: CloseCheckpoint[],
  journal: CloseJournalEntryLike[],
  accepted: (cp: CloseCheckpoint) => CloseCheckpoint['decisions'],
): string[] {
  const worked = journal
    .filter((j) => j.accepted !== false && (j.action === 'exceptions.explain' || j.action === 'exceptions.resolve'))
    .map((j) => ({
      by: j.by,
      action: j.action === 'exceptions.explain' ? ('explain' as const) : ('resolve' as const),
      itemIds: [j.taskId ?? '(a reconciliation)'],
    }));
  if (!worked.length) return [];
  const out: string[] = [];
  for (const cp of cps)
    if (cp.item?.type === 'reconciliation')
      for (const d of accepted(cp)) {
        const refusal = segregationRefusal(d.onBehalfOf ?? d.approverId, worked);
        if (refusal)
          out.push(`${cp.checkpointId}: ${refusal.replace('exceptions of this reconciliation', 'exceptions of')}`);
      }
  return out;
}
