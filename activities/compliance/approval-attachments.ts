// The files approvers attached to their signed decisions, as attachments of the close's evidence package: each
// found in the attachment store by the hash the decision signed, checked against it, and copied into the package as
// `attachments/approval_evidence/<hash prefix>-<name>`, so the signed manifest lists it. A decision naming a file
// that cannot be produced stops the package: the control's approval evidence would otherwise be claimed unseen.
import type { CloseEvidenceInput } from '../../contracts';
import { EvidenceInputError, type EvidenceInputRaw } from '../../domain/compliance/evidence';
import { attachmentHash, type AttachmentStore } from '../approval/attachments';

export async function approvalAttachments(
  approvals: CloseEvidenceInput['approvals'],
  store: AttachmentStore | undefined,
): Promise<NonNullable<EvidenceInputRaw['attachments']>> {
  const out: NonNullable<EvidenceInputRaw['attachments']> = [];
  const seen = new Set<string>();
  for (const cp of approvals)
    for (const d of cp.decisions ?? [])
      for (const e of d.evidence ?? []) {
        const where = `checkpoint ${cp.checkpointId}, ${d.approverId}'s ${d.decision}`;
        let hash: string | undefined;
        try {
          hash = attachmentHash(e);
        } catch (err) {
          throw new EvidenceInputError(`${where}: ${(err as Error).message}`);
        }
        if (!hash || seen.has(hash)) continue;
        seen.add(hash);
        if (!store)
          throw new EvidenceInputError(
            `${where} names attached ${e.kind} ${hash}, but this worker has no attachment store (FINFLOW_ATTACHMENTS_DIR)`,
          );
        const stored = await store.locate(e).catch((err: Error) => {
          throw new EvidenceInputError(`${where}: ${err.message}`);
        });
        out.push({
          kind: 'approval_evidence',
          path: stored.path,
          description: `${e.kind} attached to ${where} (${stored.name}, ${stored.bytes} bytes, SHA-256 ${hash})`,
        });
      }
  return out;
}
