// What an archived evidence package records of a crypto-shredding that reached it: `shredding.json` beside its
// signed files (not in the manifest, so the manifest and its signature still verify), one entry per shredded
// dataset whose values the package seals: when, by whom, why, how many exceptions became unreadable, and the
// shredder's proof of identity (a token signed with their own key from the user key directory), or `claimed` when
// they gave none. Each entry is also appended to the hash-chained audit ledger, so removing the file is detectable.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import type { AuditLedger } from '../audit-ledger/ledger';
import { CLI_ISSUER } from '../approval/keys';
import { personKeyProblem, personVerificationKeys } from '../approval/user-keys';
import { checkSignedToken, signTokenClaims, type ApprovalSigningKey } from '../approval/signing';
import type { UserKeyDirectory } from '../../domain/approval/person-keys';
import type { ArchiveStore } from './archive';
import { writeIfChanged } from './files';
import { readEvidenceDocument, sealedDatasetsOf } from './sealed-evidence';

export const SHRED_RECORD_FILE = 'shredding.json';
export const SHRED_TOKEN_TYPE = 'finflow-shred+jwt';
export const SHRED_AUDIENCE = 'finflow-data-shred';

const ShredEntrySchema = z
  .object({
    dataset: z.string().min(1),
    shreddedAt: z.iso.datetime({ offset: true }),
    by: z.string().min(1),
    reason: z.string().min(1),
    /** The package's exceptions sealed under the dataset's key, now unreadable. */
    exceptions: z.int().min(0),
    /** A token signed by `by` with their own key (SHRED_TOKEN_TYPE), or absent when the shredder only claimed a name. */
    token: z.string().optional(),
  })
  .strict();
export type ShredEntry = z.infer<typeof ShredEntrySchema>;

export const ShredRecordSchema = z
  .object({
    schema: z.literal('finflow.shred-record'),
    schemaVersion: z.literal(1),
    packageId: z.string().min(1),
    entries: z.array(ShredEntrySchema),
  })
  .strict();
export type ShredRecord = z.infer<typeof ShredRecordSchema>;

/** The record of a package directory; undefined when nothing was shredded. A malformed file throws, naming it. */
export async function readShredRecord(dir: string): Promise<ShredRecord | undefined> {
  const path = join(dir, SHRED_RECORD_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not JSON: ${(err as Error).message}`);
  }
  const r = ShredRecordSchema.safeParse(value);
  if (!r.success) throw new Error(`${path} is not a shred record: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

export interface ShredClaims {
  dataset: string;
  reason: string;
  shreddedAt: string;
}

/** The shredder's signature over what they shred and why, with their own key (finflow keys user add). */
export async function signShredding(key: ApprovalSigningKey, by: string, claims: ShredClaims): Promise<string> {
  const signed = await signTokenClaims(
    key,
    { issuer: CLI_ISSUER, audience: SHRED_AUDIENCE, now: new Date(claims.shreddedAt), ttlSeconds: 3600 },
    SHRED_TOKEN_TYPE,
    by,
    { ...claims },
  );
  return signed.token;
}

/**
 * Whether an entry's token proves its shredder: signed with the named person's own key, valid and not revoked
 * when it was signed (judged at its own signing time, so a record stays provable after the key expires), and
 * saying what the entry says.
 */
export async function checkShredProof(
  entry: ShredEntry,
  dir: UserKeyDirectory,
): Promise<{ ok: true; kid: string } | { ok: false; message: string }> {
  if (!entry.token) return { ok: false, message: `claimed by ${entry.by}, not signed` };
  let signedAt: Date;
  try {
    signedAt = new Date(Number(decodeJwt(entry.token).iat) * 1000);
  } catch (err) {
    return { ok: false, message: `unreadable token: ${(err as Error).message}` };
  }
  const checked = await checkSignedToken(entry.token, personVerificationKeys(dir, undefined), SHRED_TOKEN_TYPE, {
    issuer: CLI_ISSUER,
    audience: SHRED_AUDIENCE,
    now: signedAt,
  });
  if (!checked.ok) return { ok: false, message: checked.message };
  const p = checked.payload;
  if (
    p.sub !== entry.by ||
    p.dataset !== entry.dataset ||
    p.reason !== entry.reason ||
    p.shreddedAt !== entry.shreddedAt
  )
    return { ok: false, message: 'the token says something else than the entry (who, dataset, reason or time)' };
  const problem = personKeyProblem(entry.token, dir, { gatewayIssuers: [], now: signedAt });
  return problem ? { ok: false, message: problem.message } : { ok: true, kid: checked.kid };
}

export interface SealedPackage {
  packageId: string;
  exceptions: number;
  legalHold: boolean;
  holdNote?: string;
}

/** Archived packages whose evidence seals values under `dataset`. */
export async function packagesSealedUnder(store: ArchiveStore, dataset: string): Promise<SealedPackage[]> {
  const out: SealedPackage[] = [];
  for (const record of await store.list()) {
    const doc = await readEvidenceDocument(store.location(record.packageId));
    const n = sealedDatasetsOf(doc).get(dataset);
    if (!n) continue;
    const hold = record.holdHistory.filter((h) => h.on).pop();
    out.push({
      packageId: record.packageId,
      exceptions: n,
      legalHold: record.legalHold,
      ...(record.legalHold && hold ? { holdNote: `since ${hold.at} by ${hold.by}: ${hold.reason}` } : {}),
    });
  }
  return out;
}

/**
 * Writes the shredding of `dataset` into every archived package that seals values under it (idempotent: a package
 * that already records it is left alone) and appends each to the audit ledger. Returns the packages recorded now.
 */
export async function recordShredding(
  deps: { store: ArchiveStore; ledger?: AuditLedger },
  entry: Omit<ShredEntry, 'exceptions'>,
): Promise<{ packageId: string; exceptions: number }[]> {
  const done: { packageId: string; exceptions: number }[] = [];
  for (const p of await packagesSealedUnder(deps.store, entry.dataset)) {
    const dir = deps.store.location(p.packageId);
    const record: ShredRecord = (await readShredRecord(dir)) ?? {
      schema: 'finflow.shred-record',
      schemaVersion: 1,
      packageId: p.packageId,
      entries: [],
    };
    if (record.entries.some((e) => e.dataset === entry.dataset)) continue;
    const full: ShredEntry = { ...entry, exceptions: p.exceptions };
    record.entries.push(full);
    await writeIfChanged(join(dir, SHRED_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
    await deps.ledger?.append({
      actor: entry.by,
      action: 'evidence.shredded',
      subject: p.packageId,
      payload: {
        dataset: entry.dataset,
        shreddedAt: entry.shreddedAt,
        reason: entry.reason,
        exceptions: p.exceptions,
        signed: entry.token !== undefined,
      },
      idempotencyKey: `${p.packageId}/shred/${entry.dataset}`,
    });
    done.push({ packageId: p.packageId, exceptions: p.exceptions });
  }
  return done;
}

/**
 * Refuses to shred a dataset whose values an archived package under legal hold seals: a hold freezes evidence as
 * it is, and shredding would destroy part of it. Returns the packages that seal values under it.
 */
export async function assertShreddable(store: ArchiveStore, dataset: string): Promise<SealedPackage[]> {
  const found = await packagesSealedUnder(store, dataset);
  const held = found.filter((p) => p.legalHold);
  if (held.length)
    throw new Error(
      `dataset ${dataset} is not shredded: its values are sealed in evidence under legal hold (` +
        `${held.map((p) => `${p.packageId}${p.holdNote ? ` ${p.holdNote}` : ''}`).join('; ')}); lift the hold first`,
    );
  return found;
}
