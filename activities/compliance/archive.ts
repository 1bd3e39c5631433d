// Archive and retention of evidence packages. A package moves into an ArchiveStore with a retain-until date from
// the retention policy (SOX workpapers: seven years); a legal hold freezes it whatever the date; purge removes only
// packages that are past their date and not held, refuses the rest with the reason, and writes what it removed to
// the audit ledger. The store is an interface so an object store (S3 with object lock, say) can stand in for the
// file system; the file-system store keeps each package's retention record beside, not inside, the package, so
// the package stays byte-for-byte what its manifest signs.
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { retainUntil, type RetentionPolicy, DEFAULT_RETENTION_POLICY } from '../../domain/compliance/retention';
import type { AuditLedger } from '../audit-ledger/ledger';
import { writeIfChanged, sha256File } from './files';
import { MANIFEST_FILE } from './manifest';

const HoldEventSchema = z
  .object({ on: z.boolean(), by: z.string().min(1), at: z.string(), reason: z.string().min(1) })
  .strict();

export const ArchiveRecordSchema = z
  .object({
    schema: z.literal('finflow.archive-record'),
    schemaVersion: z.literal(1),
    packageId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    regulation: z.string(),
    archivedAt: z.string(),
    retainUntil: z.string(),
    manifestSha256: z.string().regex(/^[0-9a-f]{64}$/),
    legalHold: z.boolean(),
    /** Every hold placed or lifted, kept forever with the record. */
    holdHistory: z.array(HoldEventSchema),
    /**
     * Every change of the package's manifest after it was archived (the close's full history added once the close
     * ended), oldest first: the manifest hash before and after, who and why. Absent until the first one.
     */
    revisions: z
      .array(
        z
          .object({
            at: z.string(),
            by: z.string().min(1),
            reason: z.string().min(1),
            previousManifestSha256: z.string().regex(/^[0-9a-f]{64}$/),
            manifestSha256: z.string().regex(/^[0-9a-f]{64}$/),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();
export type ArchiveRecord = z.infer<typeof ArchiveRecordSchema>;

export interface ArchiveStore {
  /** Stores the package found in `sourceDir` under record.packageId and removes the source. Refuses a duplicate. */
  put(sourceDir: string, record: ArchiveRecord): Promise<void>;
  get(packageId: string): Promise<ArchiveRecord | undefined>;
  list(): Promise<ArchiveRecord[]>;
  updateRecord(record: ArchiveRecord): Promise<void>;
  /** Removes the package and its record. Policy checks are the caller's (purgeArchive); the store only deletes. */
  remove(packageId: string): Promise<void>;
  /** Where a reader finds the package's files (a directory for the file-system store). */
  location(packageId: string): string;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
function checkId(id: string): string {
  if (!SAFE_ID.test(id)) throw new Error(`package id ${JSON.stringify(id)} is not a safe directory name`);
  return id;
}

export class FileSystemArchiveStore implements ArchiveStore {
  constructor(readonly root: string) {}

  location(packageId: string): string {
    return join(this.root, 'packages', checkId(packageId));
  }

  private recordPath(packageId: string): string {
    return join(this.root, 'records', `${checkId(packageId)}.json`);
  }

  async put(sourceDir: string, record: ArchiveRecord): Promise<void> {
    const target = this.location(record.packageId);
    if (await this.get(record.packageId)) throw new Error(`package ${record.packageId} is already archived`);
    await mkdir(join(this.root, 'packages'), { recursive: true });
    const sourceThere = await stat(sourceDir).then(
      (x) => x.isDirectory(),
      () => false,
    );
    if (sourceThere) {
      // A half-copied package from an interrupted put has no record yet: start it again from the source.
      await rm(target, { recursive: true, force: true });
      try {
        await rename(sourceDir, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        await cp(sourceDir, target, { recursive: true, errorOnExist: true });
        await rm(sourceDir, { recursive: true, force: true });
      }
    } else if (
      !(await stat(join(target, MANIFEST_FILE)).then(
        (x) => x.isFile(),
        () => false,
      ))
    )
      throw new Error(`${sourceDir} does not exist and the archive holds no package ${record.packageId}`);
    // else: an earlier put moved the package and stopped before writing its record; finish it.
    // The record is written last: its presence is what makes the package archived.
    await this.updateRecord(record);
  }

  async get(packageId: string): Promise<ArchiveRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.recordPath(packageId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const r = ArchiveRecordSchema.safeParse(JSON.parse(text));
    if (!r.success) throw new Error(`${this.recordPath(packageId)} is not an archive record: ${r.error.message}`);
    return r.data;
  }

  async list(): Promise<ArchiveRecord[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, 'records'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: ArchiveRecord[] = [];
    for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
      const r = await this.get(n.slice(0, -'.json'.length));
      if (r) out.push(r);
    }
    return out;
  }

  async updateRecord(record: ArchiveRecord): Promise<void> {
    const parsed = ArchiveRecordSchema.parse(record);
    await writeIfChanged(this.recordPath(parsed.packageId), `${JSON.stringify(parsed, null, 2)}\n`);
  }

  async remove(packageId: string): Promise<void> {
    // Record first: a crash in between leaves orphan files (visible, removable again), never a record whose
    // package is half gone.
    await rm(this.recordPath(packageId), { force: true });
    await rm(this.location(packageId), { recursive: true, force: true });
  }
}

export interface ArchiveDeps {
  store: ArchiveStore;
  policy?: RetentionPolicy;
  ledger?: AuditLedger;
  clock?: () => Date;
}

function nowIso(deps: ArchiveDeps): string {
  return (deps.clock ?? (() => new Date()))().toISOString();
}

/**
 * Moves a generated package into the archive with its retain-until date. Idempotent: archiving a package that is
 * already archived with the same manifest returns the existing record.
 */
export async function archivePackage(
  deps: ArchiveDeps,
  input: { dir: string; packageId: string; regulation: string; actor: string },
): Promise<ArchiveRecord> {
  const existing = await deps.store.get(input.packageId);
  const exists = (p: string) =>
    stat(p).then(
      (s) => s.isFile(),
      () => false,
    );
  let manifestPath = join(input.dir, MANIFEST_FILE);
  const hasSource = await exists(manifestPath);
  if (existing && !hasSource) return existing;
  if (!hasSource) {
    // An earlier attempt moved the package into the archive and stopped before its record was written.
    const moved = join(deps.store.location(checkId(input.packageId)), MANIFEST_FILE);
    if (!(await exists(moved)))
      throw new Error(`${input.dir} has no ${MANIFEST_FILE}: not a generated evidence package`);
    manifestPath = moved;
  }
  const manifestSha256 = (await sha256File(manifestPath)).sha256;
  if (existing) {
    if (existing.manifestSha256 === manifestSha256) return existing;
    throw new Error(`package ${input.packageId} is already archived with a different manifest: refusing to replace it`);
  }
  const archivedAt = nowIso(deps);
  const record: ArchiveRecord = {
    schema: 'finflow.archive-record',
    schemaVersion: 1,
    packageId: checkId(input.packageId),
    regulation: input.regulation,
    archivedAt,
    retainUntil: retainUntil(deps.policy ?? DEFAULT_RETENTION_POLICY, input.regulation, archivedAt),
    manifestSha256,
    legalHold: false,
    holdHistory: [],
  };
  await deps.store.put(input.dir, record);
  await deps.ledger?.append({
    actor: input.actor,
    action: 'evidence.archived',
    subject: record.packageId,
    payload: { manifestSha256, retainUntil: record.retainUntil, regulation: record.regulation },
    at: archivedAt,
  });
  return record;
}

/**
 * Refuses to touch an archived package under legal hold: a hold freezes the package as it is, so even adding the
 * close's history to it waits until the hold is lifted. Returns the record (or undefined when not archived).
 */
export async function assertRevisable(deps: ArchiveDeps, packageId: string): Promise<ArchiveRecord | undefined> {
  const record = await deps.store.get(packageId);
  if (record?.legalHold) {
    const last = record.holdHistory.filter((h) => h.on).pop();
    throw new Error(
      `package ${packageId} is under legal hold${last ? ` since ${last.at} by ${last.by}: ${last.reason}` : ''}; ` +
        'it may not be changed until the hold is lifted',
    );
  }
  return record;
}

/**
 * Records that an archived package's manifest changed (its trail was refreshed in place): the record takes the new
 * manifest hash and keeps the old one in `revisions`; the change is logged to the ledger. A repeated call with an
 * unchanged manifest changes nothing. The retain-until date stays: retention runs from the first archiving.
 */
export async function recordPackageRevision(
  deps: ArchiveDeps,
  input: { packageId: string; by: string; reason: string },
): Promise<ArchiveRecord> {
  const record = await assertRevisable(deps, input.packageId);
  if (!record) throw new Error(`package ${input.packageId} is not in the archive`);
  const manifestSha256 = (await sha256File(join(deps.store.location(input.packageId), MANIFEST_FILE))).sha256;
  if (manifestSha256 === record.manifestSha256) return record;
  const at = nowIso(deps);
  const updated: ArchiveRecord = {
    ...record,
    manifestSha256,
    revisions: [
      ...(record.revisions ?? []),
      { at, by: input.by, reason: input.reason, previousManifestSha256: record.manifestSha256, manifestSha256 },
    ],
  };
  await deps.store.updateRecord(updated);
  await deps.ledger?.append({
    actor: input.by,
    action: 'evidence.revised',
    subject: input.packageId,
    payload: { reason: input.reason, previousManifestSha256: record.manifestSha256, manifestSha256 },
    at,
  });
  return updated;
}

export async function setLegalHold(
  deps: ArchiveDeps,
  input: { packageId: string; on: boolean; by: string; reason: string },
): Promise<ArchiveRecord> {
  const record = await deps.store.get(input.packageId);
  if (!record) throw new Error(`package ${input.packageId} is not in the archive`);
  if (!input.reason.trim()) throw new Error('a legal hold needs a reason');
  const at = nowIso(deps);
  const updated: ArchiveRecord = {
    ...record,
    legalHold: input.on,
    holdHistory: [...record.holdHistory, { on: input.on, by: input.by, at, reason: input.reason }],
  };
  await deps.store.updateRecord(updated);
  await deps.ledger?.append({
    actor: input.by,
    action: input.on ? 'evidence.legal_hold.placed' : 'evidence.legal_hold.lifted',
    subject: input.packageId,
    payload: { reason: input.reason },
    at,
  });
  return updated;
}

export interface PurgeResult {
  purged: { packageId: string; retainUntil: string; manifestSha256: string }[];
  refused: { packageId: string; reason: string }[];
}

/**
 * Purges expired packages: the named ones, or every archived one. A held or unexpired package is refused with
 * its reason, never removed; each removal is logged to the ledger (when given) before the files go, so a purge
 * interrupted half-way still leaves a trace of what it was removing.
 */
export async function purgeArchive(
  deps: ArchiveDeps,
  input: { actor: string; packageIds?: string[]; dryRun?: boolean },
): Promise<PurgeResult> {
  const now = nowIso(deps);
  const result: PurgeResult = { purged: [], refused: [] };
  const records: (ArchiveRecord | { missing: string })[] = input.packageIds
    ? await Promise.all(input.packageIds.map(async (id) => (await deps.store.get(id)) ?? { missing: id }))
    : await deps.store.list();
  for (const r of records) {
    if ('missing' in r) {
      result.refused.push({ packageId: r.missing, reason: 'not in the archive' });
      continue;
    }
    if (r.legalHold) {
      const last = r.holdHistory.filter((h) => h.on).pop();
      result.refused.push({
        packageId: r.packageId,
        reason: `under legal hold${last ? ` since ${last.at} by ${last.by}: ${last.reason}` : ''}`,
      });
      continue;
    }
    if (new Date(r.retainUntil).getTime() > new Date(now).getTime()) {
      result.refused.push({ packageId: r.packageId, reason: `retained until ${r.retainUntil}` });
      continue;
    }
    if (!input.dryRun) {
      await deps.ledger?.append({
        actor: input.actor,
        action: 'evidence.purged',
        subject: r.packageId,
        payload: { manifestSha256: r.manifestSha256, retainUntil: r.retainUntil, archivedAt: r.archivedAt },
        at: now,
      });
      await deps.store.remove(r.packageId);
    }
    result.purged.push({ packageId: r.packageId, retainUntil: r.retainUntil, manifestSha256: r.manifestSha256 });
  }
  return result;
}
