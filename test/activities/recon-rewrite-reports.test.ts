// A run's reports rewritten as its exceptions stand (issue 15; the close's documentation step asks), called
// directly on real PostgreSQL: sealed reports stay sealed under the run's key with the same names and new
// SHA-256s that match the files, and show the states now in the store; a report that is not the reconciliation's is
// refused, and so is a shredded run's.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createReconActivities } from '../../activities/recon';
import { InMemoryAccessLog } from '../../activities/security/access-log';
import { EnvelopeEncryption, InMemoryDataKeyStore } from '../../activities/security/envelope';
import { openSealedFile, readSealedHeader } from '../../activities/security/file-seal';
import { generateMasterKey, KeyRing } from '../../activities/security/key-ring';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { ReconReportRef } from '../../contracts';
import type { ReconciliationDefinitionInput } from '../../domain/recon';
import { freshDatabase } from '../helpers/postgres';

let pgUrl: string;
let systems: SystemRegistry;
let dir: string;
const master = generateMasterKey('k1');
let envelope: EnvelopeEncryption;
let acts: ReturnType<typeof createReconActivities>;

beforeAll(async () => {
  pgUrl = await freshDatabase('recon_rewrite_reports');
  const db = new Client({ connectionString: pgUrl });
  await db.connect();
  await db.query(`CREATE TABLE gl (account_code text, amount numeric(18,2));
    INSERT INTO gl VALUES ('1001', '10.00'), ('1002', '20.00'), ('1003', '30.00');
    CREATE TABLE erp (account_code text, amount numeric(18,2));
    INSERT INTO erp VALUES ('1001', '10.00'), ('1002', '25.00')`);
  await db.end();
  systems = systemsFromEnv({ DATABASE_URL: pgUrl, FINFLOW_SYSTEMS: JSON.stringify({ ledger: { url: pgUrl } }) });
  dir = await mkdtemp(join(tmpdir(), 'finflow-rewrite-reports-'));
  envelope = new EnvelopeEncryption({
    keys: new KeyRing([master], 'k1'),
    store: new InMemoryDataKeyStore(),
    accessLog: new InMemoryAccessLog(),
  });
  acts = createReconActivities({
    systems,
    recon: { workDir: join(dir, 'work'), reportsDir: join(dir, 'reports'), envelope: async () => envelope },
  });
}, 120_000);

afterAll(async () => {
  await systems?.close();
});

const side = (table: string) => ({
  source: { connector: 'postgres', system: 'ledger', table },
  classification: 'internal',
  key_fields: ['account_code'],
  value_fields: ['amount'],
  currency: 'EUR',
});
const def = {
  id: 'rw',
  a: side('gl'),
  b: side('erp'),
  rules: [{ id: 'exact', type: 'exact' }],
} as ReconciliationDefinitionInput;

async function reconciled(name: string): Promise<{ runId: string; reconId: string; reports: ReconReportRef[] }> {
  const runId = `recon:T:2026-10:${name}/r1`;
  for (const s of ['a', 'b'] as const)
    await acts.extractReconSide({ runId, reconId: 'rw', side: s, definition: def, partitions: 1, asOf: '2026-10-31' });
  await acts.reconcilePartition({ runId, reconId: 'rw', partition: 0, spillPartitions: 1, definition: def });
  const reconId = `rw-${name}`;
  const reports = await acts.writeReconReports({
    runId,
    reconId,
    company: 'T',
    period: '2026-10',
    asOfDate: '2026-10-31',
    classifications: ['internal', 'restricted'],
  });
  return { runId, reconId, reports };
}

async function opened(path: string, dataset: string): Promise<string> {
  const cipher = await envelope.open(dataset, { create: false });
  const parts: Buffer[] = [];
  try {
    for await (const p of openSealedFile(path, cipher)) parts.push(p);
  } finally {
    cipher.dispose();
  }
  return Buffer.concat(parts).toString('utf8');
}

describe('rewriteReconReports', () => {
  it('rewrites sealed reports in place with the states now in the store, and names their new SHA-256s', async () => {
    const { runId, reconId, reports } = await reconciled('sealed');
    expect(reports).toHaveLength(6);
    const summaryOf = async (refs: ReconReportRef[]) => {
      const f = refs.find((r) => r.kind === 'summary' && r.format === 'json') as ReconReportRef;
      return JSON.parse(await opened(f.path, 'recon:T:2026-10:sealed')) as { categories: { open: number }[] };
    };
    const openBefore = (await summaryOf(reports)).categories.reduce((n, c) => n + c.open, 0);
    expect(openBefore).toBe(2);
    // Someone carries one exception forward (no sealed text needed for that state).
    const db = new Client({ connectionString: pgUrl });
    await db.connect();
    try {
      await db.query(
        `UPDATE recon_exceptions SET status = 'carried_forward'
          WHERE run_id = $1 AND item_id = (SELECT min(item_id) FROM recon_exceptions WHERE run_id = $1)`,
        [runId],
      );
    } finally {
      await db.end();
    }
    const after = await acts.rewriteReconReports({
      runId,
      reconId,
      reports: [...reports, { kind: 'bank_statement', format: 'json', path: '/kept/as/is.json', sha256: 'x', rows: 0 }],
      classifications: ['internal', 'restricted'],
    });
    expect(after.map((r) => r.path)).toEqual([...reports.map((r) => r.path), '/kept/as/is.json']);
    expect(after.at(-1)).toMatchObject({ sha256: 'x' });
    for (const r of after.slice(0, 6)) {
      const bytes = await readFile(r.path);
      expect(r.sealed).toBe(true);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(r.sha256);
      expect(await readSealedHeader(r.path)).toMatchObject({ classification: 'restricted' });
    }
    expect(after.find((r) => r.kind === 'summary' && r.format === 'json')?.sha256).not.toBe(
      reports.find((r) => r.kind === 'summary' && r.format === 'json')?.sha256,
    );
    expect((await summaryOf(after)).categories.reduce((n, c) => n + c.open, 0)).toBe(1);
  });

  it("refuses a report that is not the reconciliation's, and a shredded run's, without retry", async () => {
    const { runId, reconId, reports } = await reconciled('refused');
    const summary = reports.find((r) => r.kind === 'summary' && r.format === 'csv') as ReconReportRef;
    await expect(acts.rewriteReconReports({ runId, reconId: 'another', reports: [summary] })).rejects.toMatchObject({
      type: 'InvalidReport',
      nonRetryable: true,
    });
    await expect(
      acts.rewriteReconReports({ runId, reconId, reports: [{ ...summary, kind: 'exceptions' }] }),
    ).rejects.toMatchObject({ message: expect.stringContaining('is not a exceptions report of this reconciliation') });
    await envelope.shred('recon:T:2026-10:refused', { actor: 'dpo@acme', purpose: 'retention ended' });
    // As the run's own report writing: its sealed columns cannot be read any more.
    await expect(acts.rewriteReconReports({ runId, reconId, reports })).rejects.toMatchObject({
      type: 'DataShreddedError',
      nonRetryable: true,
    });
  });
});
