import { existsSync, mkdirSync, mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { AuditLedger } from '../../activities/audit-ledger';
import {
  archivePackage,
  FileSystemArchiveStore,
  generateEvidencePackage,
  generateSigningKey,
  purgeArchive,
  setLegalHold,
  verifyEvidencePackage,
  type ArchiveDeps,
} from '../../activities/compliance';
import { freshDatabase } from '../helpers/postgres';
import { soxScenarioInput } from './compliance-fixture';

const key = generateSigningKey();
let pool: Pool;
let ledger: AuditLedger;

beforeAll(async () => {
  pool = new Pool({ connectionString: await freshDatabase('compliance_archive'), max: 2 });
  ledger = await AuditLedger.open({ pool });
});
afterAll(async () => {
  await pool?.end();
});

/** A clock the test moves: retention is years long. */
function clockAt(iso: string): { now: () => Date; set: (iso: string) => void } {
  let t = new Date(iso);
  return { now: () => t, set: (v) => (t = new Date(v)) };
}

async function generated(work: string, company: string) {
  const input = soxScenarioInput({ exceptions: 4 });
  input.close = { ...input.close, company, closeId: `close:${company}:2026-10` };
  return generateEvidencePackage(input, { dir: join(work, 'out', company), signingKey: key });
}

describe('archive and retention of evidence packages', () => {
  it('archives a package with a seven-year SOX retain-until date, still verifiable, and logs it', async () => {
    const work = mkdtempSync(join(tmpdir(), 'finflow-archive-'));
    const clock = clockAt('2026-11-05T09:00:00.000Z');
    const deps: ArchiveDeps = { store: new FileSystemArchiveStore(join(work, 'archive')), ledger, clock: clock.now };
    const pkg = await generated(work, 'ARCH1');
    const record = await archivePackage(deps, {
      dir: pkg.dir,
      packageId: pkg.packageId,
      regulation: 'SOX',
      actor: 'worker',
    });
    expect(record).toMatchObject({
      packageId: 'SOX_F-R3-GL-15_ARCH1_2026-10',
      archivedAt: '2026-11-05T09:00:00.000Z',
      retainUntil: '2033-11-05T09:00:00.000Z',
      legalHold: false,
      manifestSha256: pkg.manifestSha256,
    });
    expect(existsSync(pkg.dir)).toBe(false);
    expect((await verifyEvidencePackage(deps.store.location(pkg.packageId), key.publicKey)).ok).toBe(true);
    // Archiving again (a retried activity) returns the same record.
    expect(
      await archivePackage(deps, { dir: pkg.dir, packageId: pkg.packageId, regulation: 'SOX', actor: 'worker' }),
    ).toEqual(record);
    const logged = (await ledger.entries()).filter((e) => e.subject === pkg.packageId);
    expect(logged.map((e) => e.action)).toEqual(['evidence.archived']);
  });

  it('refuses to purge unexpired and held packages, purges expired ones, and logs each purge to the ledger', async () => {
    const work = mkdtempSync(join(tmpdir(), 'finflow-archive-'));
    const clock = clockAt('2026-11-05T09:00:00.000Z');
    const store = new FileSystemArchiveStore(join(work, 'archive'));
    const deps: ArchiveDeps = { store, ledger, clock: clock.now };
    const ids: string[] = [];
    for (const company of ['PURGE1', 'PURGE2', 'PURGE3']) {
      const pkg = await generated(work, company);
      await archivePackage(deps, { dir: pkg.dir, packageId: pkg.packageId, regulation: 'SOX', actor: 'worker' });
      ids.push(pkg.packageId);
    }
    clock.set('2030-01-01T00:00:00.000Z');
    await setLegalHold(deps, { packageId: ids[1], on: true, by: 'legal.counsel', reason: 'litigation 2030-17' });

    let r = await purgeArchive(deps, { actor: 'records.manager' });
    expect(r.purged).toEqual([]);
    expect(r.refused).toEqual([
      { packageId: ids[0], reason: 'retained until 2033-11-05T09:00:00.000Z' },
      {
        packageId: ids[1],
        reason: 'under legal hold since 2030-01-01T00:00:00.000Z by legal.counsel: litigation 2030-17',
      },
      { packageId: ids[2], reason: 'retained until 2033-11-05T09:00:00.000Z' },
    ]);

    clock.set('2033-11-05T09:00:00.001Z');
    r = await purgeArchive(deps, { actor: 'records.manager', dryRun: true });
    expect(r.purged.map((p) => p.packageId)).toEqual([ids[0], ids[2]]);
    expect(existsSync(store.location(ids[0]))).toBe(true);

    r = await purgeArchive(deps, { actor: 'records.manager' });
    expect(r.purged.map((p) => p.packageId)).toEqual([ids[0], ids[2]]);
    expect(r.refused.map((p) => p.packageId)).toEqual([ids[1]]);
    expect(existsSync(store.location(ids[0]))).toBe(false);
    expect(existsSync(store.location(ids[1]))).toBe(true);
    expect((await store.list()).map((x) => x.packageId)).toEqual([ids[1]]);

    await setLegalHold(deps, { packageId: ids[1], on: false, by: 'legal.counsel', reason: 'case closed' });
    r = await purgeArchive(deps, { actor: 'records.manager', packageIds: [ids[1], 'SOX_NOPE'] });
    expect(r.purged.map((p) => p.packageId)).toEqual([ids[1]]);
    expect(r.refused).toEqual([{ packageId: 'SOX_NOPE', reason: 'not in the archive' }]);

    const actions = (await ledger.entries())
      .filter((e) => ids.includes(e.subject))
      .map((e) => [e.action, e.subject, e.actor]);
    expect(actions.filter(([a]) => a !== 'evidence.archived')).toEqual([
      ['evidence.legal_hold.placed', ids[1], 'legal.counsel'],
      ['evidence.purged', ids[0], 'records.manager'],
      ['evidence.purged', ids[2], 'records.manager'],
      ['evidence.legal_hold.lifted', ids[1], 'legal.counsel'],
      ['evidence.purged', ids[1], 'records.manager'],
    ]);
    expect((await ledger.verify()).ok).toBe(true);
  });

  it('finishes an archiving that stopped after moving the package but before writing its record', async () => {
    const work = mkdtempSync(join(tmpdir(), 'finflow-archive-'));
    const store = new FileSystemArchiveStore(join(work, 'archive'));
    const pkg = await generated(work, 'CRASH1');
    mkdirSync(join(work, 'archive', 'packages'), { recursive: true });
    renameSync(pkg.dir, store.location(pkg.packageId));
    expect(await store.get(pkg.packageId)).toBeUndefined();
    const record = await archivePackage(
      { store },
      { dir: pkg.dir, packageId: pkg.packageId, regulation: 'SOX', actor: 'w' },
    );
    expect(record.manifestSha256).toBe(pkg.manifestSha256);
    expect(await store.get(pkg.packageId)).toEqual(record);
    expect((await verifyEvidencePackage(store.location(pkg.packageId), key.publicKey)).ok).toBe(true);
  });

  it('refuses to replace an archived package with a different one under the same id', async () => {
    const work = mkdtempSync(join(tmpdir(), 'finflow-archive-'));
    const deps: ArchiveDeps = { store: new FileSystemArchiveStore(join(work, 'archive')) };
    const pkg = await generated(work, 'DUP1');
    await archivePackage(deps, { dir: pkg.dir, packageId: pkg.packageId, regulation: 'SOX', actor: 'w' });
    const input = soxScenarioInput({ exceptions: 6 });
    input.close = { ...input.close, company: 'DUP1', closeId: 'close:DUP1:2026-10' };
    const again = await generateEvidencePackage(input, { dir: join(work, 'again'), signingKey: key });
    await expect(
      archivePackage(deps, { dir: again.dir, packageId: again.packageId, regulation: 'SOX', actor: 'w' }),
    ).rejects.toThrow('already archived with a different manifest');
  });
});
