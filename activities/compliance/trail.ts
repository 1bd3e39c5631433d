// Refreshes an evidence package's audit trail once its close has ended. The package made by the close's own
// documentation task holds the history up to that task; the close's history is complete only after it ends, so
// `finflow evidence export` fetches the parent's and children's histories again, decodes and masks them, writes
// them over the package's workflow_history files, brings evidence.json and the reports up to date (the close's final
// state and end time, the new files' hashes), and re-signs the manifest. Every write is skip-if-same-bytes and the
// history of an ended workflow never changes, so a refresh killed mid-way and run again ends with the same
// manifest, and files that did not change keep their hashes.
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEvidenceDocument, type AttachmentRecord, type EvidenceDocument } from '../../domain/compliance/evidence';
import { exportCloseHistory, HISTORY_HTML, HISTORY_JSONL, type HistoryMask } from '../history-export';
import { listFiles, removeTempFiles, sha256File, writeIfChanged } from './files';
import { buildManifest, MANIFEST_FILE, ManifestSchema, manifestText, SIGNATURE_FILE, signManifest } from './manifest';
import { EVIDENCE_FILE, REPORT_HTML, REPORT_PDF } from './package';
import { SHRED_RECORD_FILE } from './shred-record';
import { renderEvidenceHtml } from './render-html';
import { renderEvidencePdf } from './render-pdf';
import type { SigningKey } from './signing';

export const TRAIL_DIR = 'attachments/workflow_history';

export interface TrailDeps {
  client: Client;
  codecs?: PayloadCodec[];
  mask?: HistoryMask;
  signingKey: SigningKey;
}

export interface TrailRefreshResult {
  packageId: string;
  dir: string;
  previousManifestSha256: string | undefined;
  manifestSha256: string;
  /** Files whose bytes changed in this run. */
  written: string[];
  entries: number;
  workflows: number;
  closeState: string;
  completedAt: string;
}

/** Reads a package's evidence.json: the raw object (written back with its key order) and its validated form. */
export async function readEvidenceDocument(
  dir: string,
): Promise<{ raw: Record<string, unknown>; doc: EvidenceDocument }> {
  const text = await readFile(join(dir, EVIDENCE_FILE), 'utf8');
  const raw = JSON.parse(text) as Record<string, unknown>;
  return { raw, doc: parseEvidenceDocument(raw, join(dir, EVIDENCE_FILE)) };
}

/**
 * Refreshes the trail of the package in `dir` from the ended close `closeWorkflowId`. Refuses a package of another
 * close, and a close that is still running (its history would be incomplete again).
 */
export async function refreshEvidenceTrail(
  deps: TrailDeps,
  input: { dir: string; closeWorkflowId: string; onFile?: (path: string) => void | Promise<void> },
): Promise<TrailRefreshResult> {
  const { dir, closeWorkflowId } = input;
  const { raw, doc } = await readEvidenceDocument(dir);
  if (doc.close.closeId !== closeWorkflowId)
    throw new Error(`${dir} is the package of ${doc.close.closeId}, not of ${closeWorkflowId}`);
  const described = await deps.client.workflow.getHandle(closeWorkflowId).describe();
  if (described.status.name === 'RUNNING' || !described.closeTime)
    throw new Error(
      `${closeWorkflowId} is still running: its history is complete only once it ends; export it afterwards`,
    );
  // A close that ended normally says itself how it ended (completed, or blocked after its blocked timeout); a
  // failed, terminated or cancelled one has only Temporal's word.
  let closeState = described.status.name.toLowerCase();
  if (described.status.name === 'COMPLETED') {
    const result: unknown = await deps.client.workflow.getHandle(closeWorkflowId, described.runId).result();
    const state = (result as { state?: unknown } | null)?.state;
    if (typeof state === 'string' && state) closeState = state;
  }
  const completedAt = described.closeTime.toISOString();
  const previous = await sha256File(join(dir, MANIFEST_FILE)).catch(() => undefined);
  const listed = previous
    ? ManifestSchema.parse(JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8'))).files.map((f) => f.path)
    : [];

  await removeTempFiles(dir);
  const written: string[] = [];
  const note = async (path: string, changed: boolean) => {
    if (changed) written.push(path);
    await input.onFile?.(path);
  };

  const history = await exportCloseHistory(
    { client: deps.client, codecs: deps.codecs, mask: deps.mask },
    { workflowId: closeWorkflowId, runId: described.runId, outDir: join(dir, TRAIL_DIR) },
  );
  const trail: AttachmentRecord[] = [];
  for (const [name, f] of [
    [HISTORY_JSONL, history.files[0]],
    [HISTORY_HTML, history.files[1]],
  ] as const) {
    trail.push({
      kind: 'workflow_history',
      mode: 'copy',
      file: `${TRAIL_DIR}/${name}`,
      source: null,
      sha256: f.sha256,
      bytes: f.bytes,
      description:
        name === HISTORY_JSONL
          ? `complete history of ${closeWorkflowId} and its ${history.workflows.length - 1} child workflow(s), exported after the close ended (decoded, masked)`
          : 'the same, readable',
    });
  }
  for (const t of trail)
    await note(t.file as string, doc.attachments.find((a) => a.file === t.file)?.sha256 !== t.sha256);

  // The raw object is edited, not the parsed one, so that an unchanged document is written back byte for byte.
  const others = doc.attachments.filter((a) => !trail.some((t) => t.file === a.file));
  raw.attachments = [...others, ...trail];
  raw.close = { ...(raw.close as object), state: closeState, completedAt };
  const evidence = (raw.evidence as { kind: string; satisfiedBy: string[] }[]).map((e) =>
    e.kind === 'workflow_history'
      ? { ...e, satisfiedBy: [...new Set([...e.satisfiedBy, ...trail.map((t) => t.file as string)])] }
      : e,
  );
  raw.evidence = evidence;
  const updated = parseEvidenceDocument(raw, `${EVIDENCE_FILE} (refreshed)`);

  const w1 = await writeIfChanged(join(dir, EVIDENCE_FILE), `${JSON.stringify(raw, null, 2)}\n`);
  await note(EVIDENCE_FILE, w1.written);
  const w2 = await writeIfChanged(join(dir, REPORT_HTML), renderEvidenceHtml(updated, { evidenceSha256: w1.sha256 }));
  await note(REPORT_HTML, w2.written);
  const w3 = await writeIfChanged(
    join(dir, REPORT_PDF),
    await renderEvidencePdf(updated, { evidenceSha256: w1.sha256 }),
  );
  await note(REPORT_PDF, w3.written);

  const files = [];
  for (const path of await listFiles(dir)) {
    // The record of a shredding stays outside the manifest: the package's signed bytes are what they were.
    if (path === MANIFEST_FILE || path === SIGNATURE_FILE || path === SHRED_RECORD_FILE) continue;
    files.push({ path, ...(await sha256File(join(dir, path))) });
  }
  // Only the package's own files are signed: anything else found in the directory was not made by finflow.
  const known = new Set([...listed, ...trail.map((t) => t.file as string), EVIDENCE_FILE, REPORT_HTML, REPORT_PDF]);
  const strangers = files.filter((f) => !known.has(f.path)).map((f) => f.path);
  if (strangers.length)
    throw new Error(
      `${dir} holds files that are not part of package ${doc.packageId} (${strangers.join(', ')}): refusing to sign them`,
    );
  const text = manifestText(buildManifest(doc.packageId, files));
  const m = await writeIfChanged(join(dir, MANIFEST_FILE), text);
  await note(MANIFEST_FILE, m.written);
  const s = await writeIfChanged(join(dir, SIGNATURE_FILE), signManifest(text, deps.signingKey));
  await note(SIGNATURE_FILE, s.written);
  return {
    packageId: doc.packageId,
    dir,
    previousManifestSha256: previous?.sha256,
    manifestSha256: m.sha256,
    written,
    entries: history.entries,
    workflows: history.workflows.length,
    closeState,
    completedAt,
  };
}
