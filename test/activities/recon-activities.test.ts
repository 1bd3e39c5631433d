// The reconciliation activities called directly, on real PostgreSQL and MariaDB: the system registry, source
// parameters, files of every connector family, spill files and the close's validateSubsystems step.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ExcelJS from 'exceljs';
import { Client } from 'pg';
import { createMysqlPool } from '../../activities/connectors/mysql';
import { createReconActivities, folderName } from '../../activities/recon';
import { runDirName, sideDir } from '../../activities/recon/spill';
import { InMemoryAccessLog } from '../../activities/security/access-log';
import { EnvelopeEncryption, InMemoryDataKeyStore } from '../../activities/security/envelope';
import { openSealedFile, readSealedHeader } from '../../activities/security/file-seal';
import { generateMasterKey, KeyRing } from '../../activities/security/key-ring';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { ReconciliationDefinitionInput } from '../../domain/recon';
import { freshMariaDatabase } from '../helpers/mariadb';
import { freshDatabase } from '../helpers/postgres';

let pgUrl: string;
let mariaUrl: string;
let systems: SystemRegistry;
let dir: string;

beforeAll(async () => {
  pgUrl = await freshDatabase('recon_acts');
  mariaUrl = await freshMariaDatabase('recon_acts');
  const db = new Client({ connectionString: pgUrl });
  await db.connect();
  await db.query(`CREATE TABLE gl (account_code text, amount numeric(18,2), posted_on date);
    INSERT INTO gl VALUES ('1001', '10.00', '2026-10-01'), ('1002', '20.00', '2026-10-31'), ('1003', '30.00', '2026-11-01')`);
  await db.end();
  const m = createMysqlPool(mariaUrl);
  await m.query('CREATE TABLE erp (acct_num VARCHAR(10), amt DECIMAL(18,2), posted DATE)');
  await m.query(`INSERT INTO erp VALUES ('1001', '10.00', '2026-10-01'), ('1002', '20.00', '2026-10-02')`);
  await m.end();
  systems = systemsFromEnv({
    DATABASE_URL: pgUrl,
    FINFLOW_SYSTEMS: JSON.stringify({ ledger: { url: pgUrl }, erp: { engine: 'mysql', url: mariaUrl } }),
  });
  dir = await mkdtemp(join(tmpdir(), 'finflow-recon-acts-'));
}, 120_000);

afterAll(async () => {
  await systems?.close();
});

function definition(a: unknown, b: unknown = { connector: 'mysql', system: 'erp', table: 'erp' }) {
  return {
    id: 'acts',
    a: {
      source: a,
      classification: 'internal',
      key_fields: ['account_code'],
      value_fields: ['amount'],
      currency: 'EUR',
    },
    b: {
      source: b,
      classification: 'internal',
      key_fields: ['account_code'],
      value_fields: ['amount'],
      currency: 'EUR',
      mappings: [
        { from: 'acct_num', to: 'account_code' },
        { from: 'amt', to: 'amount' },
      ],
    },
    rules: [{ id: 'exact', type: 'exact' }],
  } as ReconciliationDefinitionInput;
}

function activities() {
  return createReconActivities({ systems, recon: { workDir: join(dir, 'work'), reportsDir: join(dir, 'reports') } });
}

describe('the system registry', () => {
  it('tells PostgreSQL and MariaDB systems apart and falls back to DATABASE_URL for unnamed ones', () => {
    expect(systems.engine('ledger')).toBe('postgres');
    expect(systems.engine('erp')).toBe('mysql');
    expect(systems.engine('anything-else')).toBe('postgres');
    expect(systems.names()).toEqual(['erp', 'ledger']);
    expect(() => systems.postgres('erp')).toThrow(/erp is a mysql system/);
  });

  it('refuses a FINFLOW_SYSTEMS entry without a url and names a missing connection', () => {
    expect(() => systemsFromEnv({ FINFLOW_SYSTEMS: '{"x":{}}' })).toThrow(/FINFLOW_SYSTEMS.x needs a url/);
    expect(() => systemsFromEnv({ FINFLOW_SYSTEMS: 'nope' })).toThrow(/not JSON/);
    expect(() => systemsFromEnv({}).engine('ledger')).toThrow(/FINFLOW_SYSTEM_LEDGER_URL/);
  });
});

describe('extractReconSide', () => {
  it('binds :as_of_date from asOf and returns counts and exact totals, never records', async () => {
    const acts = activities();
    const source = {
      connector: 'postgres',
      system: 'ledger',
      sql: 'SELECT account_code, amount FROM gl WHERE posted_on <= :as_of_date',
    };
    const out = await acts.extractReconSide({
      runId: 'recon:T:2026-10:acts/r1',
      reconId: 'acts',
      side: 'a',
      definition: definition(source),
      partitions: 4,
      asOf: '2026-10-31',
    });
    expect(out.records).toBe(2);
    expect(out.amounts).toEqual([{ currency: 'EUR', amount: '30.00' }]);
    expect(out.bucketCounts.reduce((s, n) => s + n, 0)).toBe(2);
    expect(out.source).toBe('postgres:ledger');
    const files = await readdir(join(dir, 'work', runDirName('recon:T:2026-10:acts/r1'), 'a'));
    expect(files.filter((f) => f.endsWith('.ndjson')).length).toBe(out.bucketCounts.filter((n) => n > 0).length);
  });

  it('extracts the same totals in the activity thread as in a worker thread', async () => {
    const source = { connector: 'mariadb', system: 'erp', table: 'erp' };
    const input = (runId: string) => ({
      runId,
      reconId: 'acts',
      side: 'b' as const,
      definition: definition({ connector: 'postgres', system: 'ledger', table: 'gl' }, source),
      partitions: 8,
      asOf: '2026-10-31',
    });
    const inline = createReconActivities({ systems, recon: { workDir: join(dir, 'work'), extractInThread: false } });
    const a = await inline.extractReconSide(input('recon:T:2026-10:inline/r1'));
    const b = await activities().extractReconSide(input('recon:T:2026-10:thread/r1'));
    expect(a).toEqual(b);
    expect(a).toMatchObject({ records: 2, amounts: [{ currency: 'EUR', amount: '30.00' }], source: 'mysql:erp' });
  });

  it('reads XLSX and camt.053 files through their connectors', async () => {
    const acts = activities();
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('GL');
    ws.addRow(['account_code', 'amount']);
    ws.addRow(['1001', '10.00']);
    ws.addRow(['1002', '20.50']);
    const xlsx = join(dir, 'gl.xlsx');
    await writeFile(xlsx, Buffer.from(await wb.xlsx.writeBuffer()));
    const fromXlsx = await acts.extractReconSide({
      runId: 'recon:T:2026-10:xlsx/r1',
      reconId: 'acts',
      side: 'a',
      definition: definition({ connector: 'xlsx', path: xlsx }),
      partitions: 2,
      asOf: '2026-10-31',
    });
    expect(fromXlsx).toMatchObject({ records: 2, amounts: [{ currency: 'EUR', amount: '30.50' }], source: 'gl.xlsx' });

    const camt = {
      ...definition({
        connector: 'camt053',
        path: resolve(__dirname, '../../../shared/samples/camt053/camt053.v2.multi.statement.xml'),
      }),
    };
    camt.a = { ...camt.a, key_fields: ['reference'], currency: undefined, currency_field: 'currency' };
    camt.b = { ...camt.b, key_fields: ['reference'] };
    const fromCamt = await acts.extractReconSide({
      runId: 'recon:T:2026-10:camt/r1',
      reconId: 'acts',
      side: 'a',
      definition: camt,
      partitions: 2,
      asOf: '2026-10-31',
    });
    expect(fromCamt).toMatchObject({ records: 2, amounts: [{ currency: 'EUR', amount: '1.85' }] });
  });

  it('refuses a source on a system of the other engine, and an unknown connector, without retry', async () => {
    const acts = activities();
    const base = {
      runId: 'recon:T:2026-10:bad/r1',
      reconId: 'acts',
      side: 'a' as const,
      partitions: 1,
      asOf: '2026-10-31',
    };
    await expect(
      acts.extractReconSide({
        ...base,
        definition: definition({ connector: 'postgres', system: 'erp', table: 'erp' }),
      }),
    ).rejects.toMatchObject({
      type: 'InvalidSource',
      nonRetryable: true,
      message: expect.stringMatching(/mysql system/),
    });
    await expect(
      acts.extractReconSide({ ...base, definition: definition({ connector: 'ftp', path: 'x' }) }),
    ).rejects.toMatchObject({ type: 'InvalidSource', nonRetryable: true });
  });

  it('names the row and field of a bad amount in a MariaDB source', async () => {
    const m = createMysqlPool(mariaUrl);
    await m.query('CREATE TABLE erp_text (acct_num VARCHAR(10), amt VARCHAR(20))');
    await m.query("INSERT INTO erp_text VALUES ('1', '1.00'), ('2', 'abc')");
    await m.end();
    const acts = activities();
    const def = definition(
      { connector: 'postgres', system: 'ledger', table: 'gl' },
      {
        connector: 'mariadb',
        system: 'erp',
        table: 'erp_text',
      },
    );
    await expect(
      acts.extractReconSide({
        runId: 'recon:T:2026-10:badrow/r1',
        reconId: 'acts',
        side: 'b',
        definition: def,
        partitions: 1,
        asOf: '2026-10-31',
      }),
    ).rejects.toMatchObject({
      type: 'SourceDataError',
      nonRetryable: true,
      message: expect.stringMatching(/mysql:erp line 2.*field "amount".*abc/),
    });
  });
});

describe('reconcilePartition', () => {
  it('refuses to run when a side was never extracted on this worker', async () => {
    const acts = activities();
    await expect(
      acts.reconcilePartition({
        runId: 'recon:T:2026-10:none/r1',
        reconId: 'acts',
        partition: 0,
        spillPartitions: 1,
        definition: definition({ connector: 'postgres', system: 'ledger', table: 'gl' }),
      }),
    ).rejects.toMatchObject({ type: 'SpillMissing' });
  });
});

describe('spill files encrypted at rest', () => {
  const master = generateMasterKey('k1');
  function sealedActivities(threads = true) {
    const keyStore = new InMemoryDataKeyStore();
    const accessLog = new InMemoryAccessLog();
    const envelope = new EnvelopeEncryption({ keys: new KeyRing([master], 'k1'), store: keyStore, accessLog });
    const work = join(dir, 'sealed-work');
    const acts = createReconActivities({
      systems,
      recon: {
        workDir: work,
        reportsDir: join(dir, 'reports'),
        envelope: async () => envelope,
        extractInThread: threads,
      },
    });
    return { acts, envelope, accessLog, work };
  }
  const def = definition({ connector: 'postgres', system: 'ledger', table: 'gl' });
  async function extractBoth(acts: ReturnType<typeof activities>, runId: string) {
    for (const side of ['a', 'b'] as const)
      await acts.extractReconSide({ runId, reconId: 'acts', side, definition: def, partitions: 2, asOf: '2026-10-31' });
  }
  const partition = (runId: string, p: number) => ({
    runId,
    reconId: 'acts',
    partition: p,
    spillPartitions: 2,
    definition: def,
  });

  it.each([true, false])(
    'writes no record text to disk and reconciles the same as in clear (worker threads: %s)',
    async (threads) => {
      const { acts, work, envelope } = sealedActivities(threads);
      const runId = `recon:T:2026-10:sealed-${threads}/r1`;
      await extractBoth(acts, runId);
      for (const side of ['a', 'b'] as const) {
        const files = (await readdir(sideDir(work, runId, side))).filter((f) => f.endsWith('.ndjson'));
        expect(files.length).toBeGreaterThan(0);
        for (const f of files) {
          const bytes = await readFile(join(sideDir(work, runId, side), f));
          expect(bytes.subarray(0, 24).toString()).toBe('finflow-spill-sealed/v1\n');
          expect(bytes.includes('1001')).toBe(false);
          expect(bytes.includes('1002')).toBe(false);
        }
      }
      const plain = activities();
      const clearRun = `recon:T:2026-10:clear-${threads}/r1`;
      await extractBoth(plain, clearRun);
      for (const p of [0, 1]) {
        const sealed = await acts.reconcilePartition(partition(runId, p));
        const clear = await plain.reconcilePartition(partition(clearRun, p));
        expect({ ...sealed, runId: undefined }).toEqual({ ...clear, runId: undefined });
      }
      // The result store holds the run's keys and evidence sealed; the reports show them to this worker in clear.
      const db = new Client({ connectionString: pgUrl });
      await db.connect();
      try {
        const raw = await db.query(
          `SELECT key, evidence::text AS evidence FROM recon_exceptions WHERE run_id = $1
           UNION ALL SELECT key, NULL FROM recon_matches WHERE run_id = $1`,
          [runId],
        );
        expect(raw.rows.length).toBe(3);
        // Exception keys sealed one by one, match keys as references into sealed blocks.
        for (const r of raw.rows) expect(r.key).toMatch(/^ff[12]:/);
        const blocks = await db.query('SELECT body FROM recon_sealed_blocks WHERE run_id = $1', [runId]);
        expect(blocks.rows.length).toBeGreaterThan(0);
        for (const b of blocks.rows) expect((b.body as Buffer).toString('latin1')).not.toMatch(/100[123]/);
        expect(JSON.stringify(raw.rows)).not.toMatch(/100[123]/);
      } finally {
        await db.end();
      }
      const reports = await acts.writeReconReports({
        runId,
        reconId: `acts-sealed-${threads}`,
        company: 'T',
        period: '2026-10',
        asOfDate: '2026-10-31',
        cleanUp: false,
        // As the definition names its sources: an unknown label counts as restricted.
        classifications: ['internal', 'bank-secret'],
      });
      // Every report is sealed at rest under the run's data key too; opened with it, the keys read in clear.
      expect(reports).toHaveLength(6);
      for (const r of reports) {
        expect(r.sealed).toBe(true);
        expect(r.path).toMatch(new RegExp(`acts-sealed-${threads}_${r.kind}_2026-10-31\\.${r.format}\\.sealed$`));
        const bytes = await readFile(r.path);
        expect(bytes.subarray(0, 23).toString()).toBe('finflow-sealed-file/v1\n');
        expect(await readSealedHeader(r.path)).toMatchObject({
          classification: 'restricted',
          sides: { a: 'internal', b: 'restricted' },
        });
        expect(bytes.includes('1003')).toBe(false);
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(r.sha256);
      }
      const cipher = await envelope.open(`recon:T:2026-10:sealed-${threads}`, { create: false });
      const parts: Buffer[] = [];
      try {
        for await (const p of openSealedFile(
          reports.find((r) => r.kind === 'exceptions' && r.format === 'csv')!.path,
          cipher,
        ))
          parts.push(p);
      } finally {
        cipher.dispose();
      }
      const csv = Buffer.concat(parts).toString('utf8');
      expect(csv).toContain('1003');
      expect(csv).not.toContain('ff1:');
      // A run extracted without keys keeps clear reports under the seed's names.
      const clearReports = await plain.writeReconReports({
        runId: clearRun,
        reconId: `acts-clear-${threads}`,
        company: 'T',
        period: '2026-10',
        asOfDate: '2026-10-31',
        cleanUp: false,
      });
      const clearCsv = clearReports.find((r) => r.kind === 'exceptions' && r.format === 'csv')!;
      expect(clearCsv.sealed).toBeUndefined();
      expect(clearCsv.path).toMatch(new RegExp(`acts-clear-${threads}_exceptions_2026-10-31\\.csv$`));
      expect(await readFile(clearCsv.path, 'utf8')).toBe(csv);
    },
  );

  it("cannot read a shredded dataset's extracts: the partition fails without retry and says so", async () => {
    const { acts, envelope, accessLog } = sealedActivities();
    const runId = 'recon:T:2026-10:shred/r1';
    await extractBoth(acts, runId);
    await acts.reconcilePartition(partition(runId, 0));
    await envelope.shred('recon:T:2026-10:shred', { actor: 'dpo@acme', purpose: 'retention ended' });
    // Its results too: the reports cannot be written from the sealed columns any more.
    await expect(
      acts.writeReconReports({ runId, reconId: 'acts-shred', company: 'T', period: '2026-10', asOfDate: '2026-10-31' }),
    ).rejects.toMatchObject({ type: 'DataShreddedError', nonRetryable: true });
    await expect(acts.reconcilePartition(partition(runId, 1))).rejects.toMatchObject({
      type: 'DataShreddedError',
      nonRetryable: true,
      message: expect.stringMatching(/recon:T:2026-10:shred.*crypto-shredded/),
    });
    expect(accessLog.entries.map((e) => [e.action, e.resource, e.actor])).toContainEqual([
      'shred',
      'recon:T:2026-10:shred',
      'dpo@acme',
    ]);
  });

  it('fails closed on a tampered chunk, and refuses a sealed file without keys or a clear file with them', async () => {
    const { acts, work } = sealedActivities();
    const runId = 'recon:T:2026-10:tamper/r1';
    await extractBoth(acts, runId);
    const side = sideDir(work, runId, 'a');
    const file = join(side, (await readdir(side)).filter((f) => f.endsWith('.ndjson'))[0]);
    const original = await readFile(file);
    const bucket = Number(/b(\d+)\.ndjson$/.exec(file)![1]);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 20] ^= 1;
    await writeFile(file, tampered);
    await expect(acts.reconcilePartition(partition(runId, bucket))).rejects.toMatchObject({
      type: 'DataDecryptionError',
      nonRetryable: true,
    });
    await writeFile(file, original);
    const keyless = createReconActivities({ systems, recon: { workDir: work, reportsDir: join(dir, 'reports') } });
    await expect(keyless.reconcilePartition(partition(runId, bucket))).rejects.toThrow(
      /is encrypted and this worker has no keys/,
    );
    await writeFile(file, '["LEDGER:1",2,"1001",1000,"EUR","2026-10-01",0]\n');
    await expect(acts.reconcilePartition(partition(runId, bucket))).rejects.toThrow(/is not encrypted, but/);
  });
});

describe('report folders', () => {
  it('names one folder per company and period, escaping what a file name cannot hold so no two keys share one', () => {
    expect(folderName('ACME', 'company')).toBe('ACME');
    expect(folderName('2026-10', 'period')).toBe('2026-10');
    expect(folderName('Acme Inc/EU', 'company')).toBe('Acme%20Inc%2FEU');
    expect(folderName('Acme%20Inc%2FEU', 'company')).toBe('Acme%2520Inc%252FEU');
    expect(folderName('Müller', 'company')).toBe('M%C3%BCller');
    expect(folderName('..', 'company')).toBe('%2E%2E');
    expect(() => folderName('', 'company')).toThrow(/the company is empty/);
  });
});

describe('validateSubsystems', () => {
  it('answers with the row count of every configured table, per system', async () => {
    const out = await activities().validateSubsystems({
      company: 'ACME',
      period: '2026-10',
      taskId: 'subsystem_validation',
      config: {
        checks: [
          { system: 'ledger', table: 'gl' },
          { system: 'erp', table: 'erp' },
          { system: 'erp', sql: "SELECT * FROM erp WHERE acct_num = '1001'" },
        ],
      },
    });
    expect(out.systems).toEqual([
      { system: 'ledger', engine: 'postgres', counts: [{ what: 'gl', rows: 3 }], rows: 3 },
      {
        system: 'erp',
        engine: 'mysql',
        counts: [
          { what: 'erp', rows: 2 },
          { what: 'query', rows: 1 },
        ],
        rows: 3,
      },
    ]);
  });

  it('pings every configured system when the plan gives no config', async () => {
    const out = await activities().validateSubsystems({ company: 'ACME', period: '2026-10', taskId: 't' });
    expect(out.systems.map((s) => [s.system, s.engine])).toEqual([
      ['erp', 'mysql'],
      ['ledger', 'postgres'],
    ]);
  });

  it('refuses clearly, naming the system, when one does not answer', async () => {
    const dead = systemsFromEnv({
      FINFLOW_SYSTEMS: JSON.stringify({
        ledger: { url: pgUrl },
        warehouse: { engine: 'mysql', url: 'mysql://nobody@127.0.0.1:1/none' },
      }),
    });
    try {
      const acts = createReconActivities({ systems: dead, recon: { workDir: join(dir, 'work') } });
      await expect(
        acts.validateSubsystems({ company: 'ACME', period: '2026-10', taskId: 't', config: { timeoutMs: 5000 } }),
      ).rejects.toMatchObject({
        type: 'SubsystemUnavailable',
        message: expect.stringMatching(/1 system\(s\) did not answer: warehouse: /),
      });
    } finally {
      await dead.close();
    }
  });
});
