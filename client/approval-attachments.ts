// Approval evidence files from the CLI (`finflow approve --attach kind=path`) and the library (submitApproval's
// `attachments`): stored by activities/approval/attachments.ts where the workers read them, named in the decision.
import { attachmentStoreFromEnv } from '../activities/approval/attachments';
import type { EvidenceRef } from '../domain/approval';

/**
 * `kind=path` (as `--attach` takes it): the file stored content-addressed in FINFLOW_ATTACHMENTS_DIR (the directory the workers read
 * them from), and the reference the decision signs (`attachment:sha256:<hex>` with the hash).
 */
export async function attachEvidence(specs: readonly string[], env: NodeJS.ProcessEnv): Promise<EvidenceRef[]> {
  if (!specs.length) return [];
  const store = attachmentStoreFromEnv(env);
  if (!store)
    throw new Error(
      '--attach needs FINFLOW_ATTACHMENTS_DIR: the directory the workers read approval evidence files from',
    );
  const refs: EvidenceRef[] = [];
  for (const spec of specs) {
    const m = /^([^=]+)=(.+)$/.exec(spec);
    if (!m) throw new Error(`--attach ${spec}: expected kind=path (e.g. screenshot=bank-portal.png)`);
    refs.push((await store.put(m[2], m[1])).ref);
  }
  return refs;
}
