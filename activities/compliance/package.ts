// Generation of one evidence package (one control, one close) into a directory. Idempotent and resumable: every
// file is rendered deterministically from the input, written under a temporary name and renamed, and skipped when
// the directory already holds exactly those bytes. A run killed at any point and run again therefore finishes the
// job and yields the same manifest, byte for byte (the Ed25519 signature is deterministic too).
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  buildEvidenceDocument,
  EvidenceInputError,
  evidencePackageId,
  parseEvidenceInput,
  type AttachmentRecord,
  type EvidenceDocument,
} from '../../domain/compliance/evidence';
import { copyIfChanged, listFiles, removeTempFiles, sha256File, writeIfChanged, type FileOutcome } from './files';
import { buildManifest, MANIFEST_FILE, manifestText, SIGNATURE_FILE, signManifest } from './manifest';
import { renderEvidenceHtml } from './render-html';
import { renderEvidencePdf } from './render-pdf';
import type { SigningKey } from './signing';

export const EVIDENCE_FILE = 'evidence.json';
export const REPORT_HTML = 'report.html';
export const REPORT_PDF = 'report.pdf';

export interface FileStep {
  path: string;
  sha256: string;
  bytes: number;
  written: boolean;
}

export interface GenerateOptions {
  /** The package's own directory (created if absent). */
  dir: string;
  signingKey: SigningKey;
  /** Called after each file is in place: activities heartbeat here, tests use it to interrupt a run. */
  onFile?: (step: FileStep) => void | Promise<void>;
  /**
   * Turns the built document into what the package shows (exception-view.ts: sensitive values masked for the reader
   * role, a dataset's values sealed under its key); must be deterministic, as generation is resumed by comparing bytes.
   */
  view?: (doc: EvidenceDocument) => EvidenceDocument;
}

export interface GenerateResult {
  packageId: string;
  dir: string;
  /** Every file of the package in manifest order, plus the manifest and its signature. */
  files: FileStep[];
  written: number;
  skipped: number;
  manifestSha256: string;
  document: Pick<EvidenceDocument, 'allControlsHeld'> & {
    exceptions: number;
    openExceptions: number;
    attestationMissingFrom: string[];
  };
}

function attachmentTarget(kind: string, path: string): string {
  return `attachments/${kind}/${basename(path)}`;
}

export async function generateEvidencePackage(rawInput: unknown, opts: GenerateOptions): Promise<GenerateResult> {
  const input = parseEvidenceInput(rawInput);
  const packageId = evidencePackageId(input.control, input.close);
  const dir = opts.dir;

  const targets = new Map<string, number>();
  input.attachments.forEach((a, i) => {
    if (a.mode !== 'copy') return;
    const t = attachmentTarget(a.kind, a.path);
    const twin = targets.get(t);
    if (twin !== undefined)
      throw new EvidenceInputError(`attachments[${i}] and attachments[${twin}] would both be stored as ${t}`);
    targets.set(t, i);
  });
  for (const [i, a] of input.attachments.entries()) {
    const s = await stat(a.path).catch(() => undefined);
    if (!s?.isFile()) throw new EvidenceInputError(`attachments[${i}] (${a.kind}): ${a.path} is not a readable file`);
  }

  await removeTempFiles(dir);
  const expected = new Set([...targets.keys(), EVIDENCE_FILE, REPORT_HTML, REPORT_PDF, MANIFEST_FILE, SIGNATURE_FILE]);
  const present = await listFiles(dir).catch(() => [] as string[]);
  const strangers = present.filter((f) => !expected.has(f));
  if (strangers.length)
    throw new EvidenceInputError(
      `${dir} holds files that are not part of package ${packageId} (${strangers.slice(0, 5).join(', ')}` +
        `${strangers.length > 5 ? ', ...' : ''}): refusing to generate into it`,
    );

  const steps: FileStep[] = [];
  const record = async (path: string, outcome: FileOutcome) => {
    const step = { path, ...outcome };
    steps.push(step);
    await opts.onFile?.(step);
  };

  const attachments: AttachmentRecord[] = [];
  for (const a of input.attachments) {
    if (a.mode === 'copy') {
      const file = attachmentTarget(a.kind, a.path);
      const outcome = await copyIfChanged(a.path, join(dir, file));
      await record(file, outcome);
      attachments.push({
        kind: a.kind,
        mode: 'copy',
        file,
        source: null,
        sha256: outcome.sha256,
        bytes: outcome.bytes,
        description: a.description ?? null,
      });
    } else {
      const h = await sha256File(a.path);
      attachments.push({
        kind: a.kind,
        mode: 'reference',
        file: null,
        source: a.path,
        sha256: h.sha256,
        bytes: h.bytes,
        description: a.description ?? null,
      });
    }
  }

  const built = buildEvidenceDocument(input, attachments);
  const doc = opts.view ? opts.view(built) : built;
  const evidenceFile = await writeIfChanged(join(dir, EVIDENCE_FILE), `${JSON.stringify(doc, null, 2)}\n`);
  await record(EVIDENCE_FILE, evidenceFile);
  // Both reports print evidence.json's hash on every page: the paper ties to the file the signed manifest lists.
  const stamp = { evidenceSha256: evidenceFile.sha256 };
  await record(REPORT_HTML, await writeIfChanged(join(dir, REPORT_HTML), renderEvidenceHtml(doc, stamp)));
  await record(REPORT_PDF, await writeIfChanged(join(dir, REPORT_PDF), await renderEvidencePdf(doc, stamp)));

  const text = manifestText(buildManifest(packageId, steps));
  const manifestOutcome = await writeIfChanged(join(dir, MANIFEST_FILE), text);
  await record(MANIFEST_FILE, manifestOutcome);
  await record(SIGNATURE_FILE, await writeIfChanged(join(dir, SIGNATURE_FILE), signManifest(text, opts.signingKey)));

  return {
    packageId,
    dir,
    files: steps,
    written: steps.filter((s) => s.written).length,
    skipped: steps.filter((s) => !s.written).length,
    manifestSha256: manifestOutcome.sha256,
    document: {
      allControlsHeld: doc.allControlsHeld,
      exceptions: doc.exceptions.count,
      openExceptions: doc.exceptions.open,
      attestationMissingFrom: doc.attestation.missingFrom,
    },
  };
}
