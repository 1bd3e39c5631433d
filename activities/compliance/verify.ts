// Verification of an evidence package by anyone holding the signer's public key: the signature over
// manifest.json, then every listed file's size and SHA-256, then that no file was added, then that evidence.json
// is a document this finflow reads and agrees with the manifest. Every problem is reported, not just the first,
// so an auditor sees the whole extent of a tampering.
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEvidenceDocument } from '../../domain/compliance/evidence';
import { listFiles, sha256File, sha256Hex } from './files';
import {
  MANIFEST_FILE,
  ManifestSchema,
  SIGNATURE_FILE,
  SignatureFileSchema,
  verifyManifestSignature,
  type Manifest,
} from './manifest';
import { EVIDENCE_FILE } from './package';
import { keyIdOf } from './signing';
import { sealedDatasetsOf } from './sealed-evidence';
import { readShredRecord, SHRED_RECORD_FILE, type ShredEntry } from './shred-record';

export interface VerifyResult {
  ok: boolean;
  packageId?: string;
  manifestSha256?: string;
  /** Files whose hash was checked and matched. */
  filesChecked: number;
  errors: string[];
  /** Datasets whose values evidence.json seals under their data keys, with how many exceptions each. */
  sealed?: { dataset: string; exceptions: number }[];
  /**
   * Datasets crypto-shredded since the package was made (shredding.json, outside the manifest): their sealed values
   * are unreadable for good, which is not tampering; the files still verify.
   */
  shredded?: ShredEntry[];
}

async function readJson(path: string): Promise<{ bytes: Buffer; value: unknown }> {
  const bytes = await readFile(path);
  return { bytes, value: JSON.parse(bytes.toString('utf8')) as unknown };
}

export async function verifyEvidencePackage(
  dir: string,
  publicKey: KeyObject,
  opts: { checkReferences?: boolean } = {},
): Promise<VerifyResult> {
  const errors: string[] = [];
  let manifest: Manifest;
  let manifestBytes: Buffer;
  try {
    const m = await readJson(join(dir, MANIFEST_FILE));
    manifestBytes = m.bytes;
    const parsed = ManifestSchema.safeParse(m.value);
    if (!parsed.success)
      return {
        ok: false,
        filesChecked: 0,
        errors: [`${MANIFEST_FILE} is not a finflow manifest: ${parsed.error.message}`],
      };
    manifest = parsed.data;
  } catch (err) {
    return { ok: false, filesChecked: 0, errors: [`${MANIFEST_FILE} cannot be read: ${(err as Error).message}`] };
  }

  try {
    const s = await readJson(join(dir, SIGNATURE_FILE));
    const sig = SignatureFileSchema.safeParse(s.value);
    if (!sig.success) errors.push(`${SIGNATURE_FILE} is not a finflow signature file`);
    else if (!verifyManifestSignature(manifestBytes, sig.data, publicKey))
      errors.push(
        `${SIGNATURE_FILE}: the signature does not verify with the given public key (key ${keyIdOf(publicKey)}` +
          `${sig.data.keyId !== keyIdOf(publicKey) ? `; the package names key ${sig.data.keyId}` : ''}): ` +
          `${MANIFEST_FILE} was changed or signed by someone else`,
      );
  } catch (err) {
    errors.push(`${SIGNATURE_FILE} cannot be read: ${(err as Error).message}`);
  }

  let filesChecked = 0;
  const listed = new Set<string>();
  for (const f of manifest.files) {
    listed.add(f.path);
    if (f.path.split('/').some((p) => p === '..' || p === '') || f.path.startsWith('/')) {
      errors.push(`${MANIFEST_FILE} lists a path outside the package: ${f.path}`);
      continue;
    }
    const actual = await sha256File(join(dir, f.path)).catch(() => undefined);
    if (!actual) errors.push(`${f.path}: listed in the manifest but missing`);
    else if (actual.sha256 !== f.sha256 || actual.bytes !== f.bytes)
      errors.push(
        `${f.path}: content changed (manifest: sha256 ${f.sha256}, ${f.bytes} bytes; found: sha256 ${actual.sha256}, ${actual.bytes} bytes)`,
      );
    else filesChecked++;
  }
  for (const f of await listFiles(dir))
    if (!listed.has(f) && f !== MANIFEST_FILE && f !== SIGNATURE_FILE && f !== SHRED_RECORD_FILE)
      errors.push(`${f}: present in the package but not listed in the manifest`);

  let sealed: Map<string, number> | undefined;
  if (!listed.has(EVIDENCE_FILE)) errors.push(`${EVIDENCE_FILE} is not listed in the manifest`);
  else {
    try {
      const doc = parseEvidenceDocument((await readJson(join(dir, EVIDENCE_FILE))).value);
      sealed = sealedDatasetsOf(doc);
      if (doc.packageId !== manifest.packageId)
        errors.push(`${EVIDENCE_FILE} is for package ${doc.packageId}, the manifest for ${manifest.packageId}`);
      const byPath = new Map(manifest.files.map((f) => [f.path, f]));
      for (const a of doc.attachments) {
        if (a.mode === 'copy') {
          const m = a.file ? byPath.get(a.file) : undefined;
          if (!m) errors.push(`${EVIDENCE_FILE} names attachment ${a.file} that the manifest does not list`);
          else if (m.sha256 !== a.sha256)
            errors.push(`${a.file}: ${EVIDENCE_FILE} and the manifest disagree on its hash`);
        } else if (opts.checkReferences && a.source) {
          const h = await sha256File(a.source).catch(() => undefined);
          if (!h) errors.push(`referenced file ${a.source} cannot be read`);
          else if (h.sha256 !== a.sha256) errors.push(`referenced file ${a.source} changed since the package was made`);
        }
      }
    } catch (err) {
      errors.push(`${EVIDENCE_FILE}: ${(err as Error).message}`);
    }
  }
  let shredded: ShredEntry[] | undefined;
  try {
    const record = await readShredRecord(dir);
    if (record) {
      shredded = record.entries;
      if (record.packageId !== manifest.packageId)
        errors.push(`${SHRED_RECORD_FILE} is for package ${record.packageId}, the manifest for ${manifest.packageId}`);
      for (const e of record.entries)
        if (sealed && sealed.get(e.dataset) !== e.exceptions)
          errors.push(
            `${SHRED_RECORD_FILE} records ${e.exceptions} exceptions of dataset ${e.dataset} shredded, but ` +
              `${EVIDENCE_FILE} seals ${sealed.get(e.dataset) ?? 0} under it`,
          );
    }
  } catch (err) {
    errors.push((err as Error).message);
  }
  return {
    ok: errors.length === 0,
    packageId: manifest.packageId,
    manifestSha256: sha256Hex(manifestBytes),
    filesChecked,
    errors,
    ...(sealed?.size ? { sealed: [...sealed].map(([dataset, exceptions]) => ({ dataset, exceptions })) } : {}),
    ...(shredded ? { shredded } : {}),
  };
}
