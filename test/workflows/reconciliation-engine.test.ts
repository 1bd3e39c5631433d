// The definition-driven reconciliation through Temporal: a GL table in PostgreSQL against an ERP table in MariaDB
// (and a bank file against PostgreSQL), every discrepancy category planted, found and counted, control totals,
// result store rows and report files checked. Real servers throughout: time-skipping Temporal, PostgreSQL, MariaDB.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Client } from 'pg';
import { createActivities } from '../../activities';
import { createMysqlPool } from '../../activities/connectors/mysql';
import { runDirName } from '../../activities/recon/spill';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { Dec } from '../../domain/money';
import { partitionOf, type CATEGORIES, type ReconciliationDefinitionInput } from '../../domain/recon';
import type { reconciliationWorkflow } from '../../workflows';
import type { ReconciliationInput, ReconciliationSummary } from '../../contracts';
import { freshMariaDatabase } from '../helpers/mariadb';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

type Category = (typeof CATEGORIES)[number];

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
let pgUrl: string;
let workDir: string;
let reportsDir: string;

interface GlRow {
  account: string;
  /** As stored (numeric(18,4)). */
  amount: string;
  /** After the definition's round(2, half_even): what the engine compares. */
  normalised: string;
  posted: string;
}
interface ErpRow {
  account: string;
  amount: string;
  posted: string;
}

const gl: GlRow[] = [];
const erp: ErpRow[] = [];
/** What was planted, per category: one item each. */
const planted: Record<Category, number> = {
  duplicate_key: 0,
  missing_in_a: 0,
  missing_in_b: 0,
  timing_difference: 0,
  sign_reversal: 0,
  transposition: 0,
  rounding: 0,
  amount_mismatch: 0,
  within_tolerance: 0,
  suggested_match: 0,
  bank_fee: 0,
  outstanding_check: 0,
  outstanding_payment: 0,
  deposit_in_transit: 0,
};
const EXACT = 150;
const MID = '2026-10-15';

function plant(
  category: Category,
  account: string,
  glRows: [string, string, string?][],
  erpRows: [string, string?][],
): void {
  planted[category]++;
  for (const [amount, normalised, posted] of glRows) gl.push({ account, amount, normalised, posted: posted ?? MID });
  for (const [amount, posted] of erpRows) erp.push({ account, amount, posted: posted ?? MID });
}

function buildData(): void {
  for (let i = 1; i <= EXACT; i++) {
    const cents = (i * 371_311) % 10_000_000;
    const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    const account = `A${String(i).padStart(4, '0')}`;
    // The first one is stored with four decimals that the round transformation takes back to the ERP's amount.
    gl.push({ account, amount: i === 1 ? `${amount}49` : `${amount}00`, normalised: amount, posted: MID });
    erp.push({ account, amount, posted: MID });
  }
  plant('missing_in_a', 'P-ONLY-IN-ERP', [], [['120.00']]);
  plant('missing_in_b', 'P-ONLY-IN-GL', [['75.0000', '75.00']], []);
  plant('amount_mismatch', 'P-MISMATCH', [['250.0000', '250.00']], [['100.00']]);
  plant('within_tolerance', 'P-TOLERANCE', [['1000.0000', '1000.00']], [['1000.30']]);
  plant(
    'duplicate_key',
    'P-DUPLICATE',
    [
      ['40.0000', '40.00'],
      ['60.0000', '60.00'],
    ],
    [['100.00']],
  );
  plant('timing_difference', 'P-TIMING', [['500.0000', '500.00', '2026-10-30']], [['500.00', '2026-10-25']]);
  plant('sign_reversal', 'P-SIGN', [['321.0000', '321.00']], [['-321.00']]);
  plant('transposition', 'P-TRANSPOSED', [['1234.5600', '1234.56']], [['1243.56']]);
  // 10.005 rounds half-even to 10.00; the ERP says 10.01.
  plant('rounding', 'P-ROUNDING', [['10.0050', '10.00']], [['10.01']]);
}

/** A GL row after the as-of date: the :as_of_date parameter keeps it out. */
const LATE = { account: 'P-LATE', amount: '999.0000', posted: '2026-11-03' };

function definition(a?: ReconciliationDefinitionInput['a']['source']): ReconciliationDefinitionInput {
  return {
    id: 'gl-vs-erp',
    a: {
      name: 'GL',
      source: a ?? {
        connector: 'postgres',
        system: 'ledger',
        sql: 'SELECT account_code, amount, posted_on FROM gl WHERE posted_on <= :as_of_date',
      },
      classification: 'confidential',
      key_fields: ['account_code'],
      value_fields: ['amount'],
      date_field: 'posted_on',
      currency: 'USD',
      transformations: [{ op: 'round', field: 'amount', places: 2, mode: 'half_even' }],
    },
    b: {
      name: 'ERP',
      source: { connector: 'mysql', system: 'erp', table: 'erp' },
      classification: 'confidential',
      key_fields: ['account_code'],
      value_fields: ['amount'],
      date_field: 'posted_on',
      currency_field: 'ccy',
      mappings: [
        { from: 'acct_num', to: 'account_code' },
        { from: 'amt', to: 'amount' },
        { from: 'posted', to: 'posted_on' },
      ],
    },
    rules: [
      { id: 'exact', type: 'exact', compare_date: true, expect_unique: true },
      { id: 'tolerance', type: 'tolerance', absolute: '0.50', max_days_apart: 0, expect_unique: true },
    ],
  };
}

beforeAll(async () => {
  buildData();
  pgUrl = await freshDatabase('recon_engine');
  const mariaUrl = await freshMariaDatabase('recon_engine');
  const db = new Client({ connectionString: pgUrl });
  await db.connect();
  await db.query(
    'CREATE TABLE gl (account_code text NOT NULL, amount numeric(18,4) NOT NULL, posted_on date NOT NULL)',
  );
  await db.query(`INSERT INTO gl SELECT * FROM unnest($1::text[], $2::numeric[], $3::date[])`, [
    [...gl.map((r) => r.account), LATE.account],
    [...gl.map((r) => r.amount), LATE.amount],
    [...gl.map((r) => r.posted), LATE.posted],
  ]);
  // The bank test's cash ledger: the six 2010-07-22 entries of jejik-ing.sta, one booking the bank does not
  // show, and none for the bank's 2010-07-23 entry.
  await db.query('CREATE TABLE cash (posted_on date NOT NULL, amount numeric(18,2) NOT NULL)');
  await db.query(`INSERT INTO cash VALUES ('2010-07-22','-25.03'),('2010-07-22','-3.03'),('2010-07-22','-1.11'),
    ('2010-07-22','-20.00'),('2010-07-22','-1.10'),('2010-07-22','3.68'),('2010-07-22','-5.00')`);
  await db.end();
  const maria = createMysqlPool(mariaUrl);
  await maria.query(
    'CREATE TABLE erp (acct_num VARCHAR(20) NOT NULL, amt DECIMAL(18,2) NOT NULL, posted DATE NOT NULL, ccy CHAR(3) NOT NULL)',
  );
  await maria.query('INSERT INTO erp (acct_num, amt, posted, ccy) VALUES ?', [
    erp.map((r) => [r.account, r.amount, r.posted, 'USD']),
  ]);
  await maria.end();
  systems = systemsFromEnv({
    DATABASE_URL: pgUrl,
    FINFLOW_SYSTEMS: JSON.stringify({
      ledger: { engine: 'postgres', url: pgUrl },
      erp: { engine: 'mysql', url: mariaUrl },
    }),
  });
  workDir = await mkdtemp(join(tmpdir(), 'finflow-recon-work-'));
  reportsDir = await mkdtemp(join(tmpdir(), 'finflow-recon-reports-'));
  await workflowBundle();
}, 180_000);

// Each test runs whole reconciliations through a worker; on a loaded 2-core machine that can take a while.
jest.setTimeout(120_000);

const started: string[] = [];
afterEach(async () => {
  for (const id of started.splice(0))
    await env.client.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
});

freshTimeSkippingServerPerTest((e) => (env = e));

afterAll(async () => {
  await systems?.close();
});

type Activities = ReturnType<typeof createActivities>;

async function run(
  input: Partial<ReconciliationInput>,
  wrap: (a: Activities) => Partial<Activities> = () => ({}),
  recon: { extractInThread?: boolean } = {},
): Promise<{ summary: ReconciliationSummary; workflowId: string }> {
  const taskQueue = uniqueId('recon-engine');
  const real = createActivities({ systems, recon: { workDir, reportsDir, ...recon } });
  const worker = await Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      activities: { ...real, ...wrap(real) },
    }),
  );
  const workflowId = uniqueId('recon:ACME:2026-10:gl-vs-erp');
  started.push(workflowId);
  const summary = await worker.runUntil(
    env.client.workflow.execute<typeof reconciliationWorkflow>('reconciliationWorkflow', {
      taskQueue,
      workflowId,
      args: [{ company: 'ACME', period: '2026-10', reconId: 'gl-vs-erp', ...input }],
    }),
  );
  return { summary, workflowId };
}

function sum(values: string[]): string {
  return values.reduce((s, v) => s.plus(v), new Dec(0)).toFixed(2);
}

async function storeCount(table: string, runId: string): Promise<number> {
  const db = new Client({ connectionString: pgUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE run_id = $1`, [
      runId,
    ]);
    return Number(rows[0].n);
  } finally {
    await db.end();
  }
}

/** Every payload in a history, decoded: what a reader of the history would see. */
async function historyText(workflowId: string): Promise<string> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(history);
  return out.join('\n');
}

describe('reconciliationWorkflow with a definition (GL in PostgreSQL vs ERP in MariaDB)', () => {
  it('finds every planted discrepancy in its category, balances the control totals and writes the seed-named reports', async () => {
    const { summary, workflowId } = await run({ definition: definition(), partitions: 1 });

    expect(summary.perCategory).toEqual(planted);
    expect(summary.controlTotals).toBe('balanced');
    expect(summary.status).toBe('exceptions');
    // Exact matches plus the two differences the tolerance rule accepted (within tolerance, rounding).
    expect(summary.matchesByRule).toEqual({ exact: EXACT, tolerance: 2 });
    expect(summary.openExceptions).toBe(Object.values(planted).reduce((s, n) => s + n, 0) - 2);
    expect(summary.a).toEqual({ records: gl.length, amount: sum(gl.map((r) => r.normalised)) });
    expect(summary.b).toEqual({ records: erp.length, amount: sum(erp.map((r) => r.amount)) });
    expect(summary.difference).toBe(
      new Dec(sum(gl.map((r) => r.normalised))).minus(sum(erp.map((r) => r.amount))).toFixed(2),
    );
    expect(summary.keys).toEqual({
      matched: EXACT + 2,
      amountMismatch: planted.amount_mismatch,
      missingInA: planted.missing_in_a,
      missingInB: planted.missing_in_b,
    });
    for (const side of ['a', 'b'] as const) {
      const t = summary.totals![side];
      expect(t.records_matched + t.records_unmatched).toBe(t.records_in);
      for (const c of t.amounts)
        expect(new Dec(c.amount_matched).plus(c.amount_unmatched).equals(c.amount_in)).toBe(true);
    }

    // The result store holds every exception and match of the run, once.
    expect(await storeCount('recon_exceptions', summary.runId!)).toBe(summary.exceptions);
    expect(await storeCount('recon_matches', summary.runId!)).toBe(summary.matches);

    const names = summary.reports!.map((r) => basename(r.path)).sort();
    expect(names).toEqual(
      ['csv', 'json', 'xlsx']
        .flatMap((ext) => [`gl-vs-erp_exceptions_2026-10-31.${ext}`, `gl-vs-erp_summary_2026-10-31.${ext}`])
        .sort(),
    );
    // Each close's reports in a folder of its own (company/period), so two companies' files never overwrite.
    for (const r of summary.reports!) {
      expect(existsSync(r.path)).toBe(true);
      expect(dirname(r.path)).toBe(join(reportsDir, 'ACME', '2026-10'));
    }
    const json = JSON.parse(
      await readFile(join(reportsDir, 'ACME', '2026-10', 'gl-vs-erp_exceptions_2026-10-31.json'), 'utf8'),
    ) as {
      exceptions: { category: Category; key: string }[];
    };
    const byCategory = Object.fromEntries(Object.keys(planted).map((c) => [c, 0])) as Record<Category, number>;
    for (const x of json.exceptions) byCategory[x.category]++;
    expect(byCategory).toEqual(planted);
    expect(json.exceptions.find((x) => x.category === 'transposition')?.key).toBe('P-TRANSPOSED');

    // Records stay in the store and the files: the history carries ids, counts and totals only.
    const history = await historyText(workflowId);
    expect(history).toContain('"controlTotals":"balanced"');
    expect(history).not.toContain('P-ONLY-IN-ERP');
    expect(history).not.toContain('P-TRANSPOSED');
  });

  it('gives the same result with four partitions (matched in the activity thread), and with partitions chosen from the size, as with one', async () => {
    const strip = (s: ReconciliationSummary) => {
      const { runId: _r, reports: _p, partitions: _n, ...rest } = s;
      return rest;
    };
    const one = await run({ definition: definition(), partitions: 1 });
    const four = await run({ definition: definition(), partitions: 4 }, undefined, { extractInThread: false });
    const auto = await run({ definition: definition() });
    expect(four.summary.partitions).toBe(4);
    expect(strip(four.summary)).toEqual(strip(one.summary));
    expect(auto.summary.partitions).toBe(1);
    expect(strip(auto.summary)).toEqual(strip(one.summary));
    expect(await storeCount('recon_exceptions', four.summary.runId!)).toBe(one.summary.exceptions);
  });

  it('writes no duplicate store rows when reconcilePartition is retried after it wrote its results', async () => {
    let failures = 0;
    const { summary } = await run({ definition: definition(), partitions: 2 }, (real) => ({
      async reconcilePartition(input) {
        const result = await real.reconcilePartition(input);
        // The worker "dies" after the rows are stored, before the result reaches the server.
        if (input.partition === 0 && failures++ === 0) throw new Error('lost the worker after the write');
        return result;
      },
    }));
    expect(failures).toBe(2);
    expect(summary.perCategory).toEqual(planted);
    expect(await storeCount('recon_exceptions', summary.runId!)).toBe(summary.exceptions);
    expect(await storeCount('recon_matches', summary.runId!)).toBe(summary.matches);
  });

  it('fails without retrying when a CSV source holds a bad amount, naming the file, line and field', async () => {
    const path = join(workDir, 'gl-bad.csv');
    await writeFile(path, 'account_code,amount,posted_on\nA0001,12.34,2026-10-15\nA0002,12.3x,2026-10-15\n');
    let extractAttempts = 0;
    const failure = await run({ definition: definition({ connector: 'csv', path }), partitions: 1 }, (real) => ({
      async extractReconSide(input) {
        if (input.side === 'a') extractAttempts++;
        return real.extractReconSide(input);
      },
    })).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.message).toMatch(/gl-bad\.csv line 3/);
    expect(cause.message).toMatch(/field "amount"/);
    expect(cause.message).toMatch(/12\.3x/);
    expect(cause.type).toBe('SourceDataError');
    expect(extractAttempts).toBe(1);
  });

  it('reconciles an MT940 bank statement against the cash ledger in PostgreSQL', async () => {
    const bank: ReconciliationDefinitionInput = {
      id: 'bank-vs-gl',
      a: {
        name: 'BANK',
        source: { connector: 'mt940', path: resolve(__dirname, '../../../shared/samples/mt940/jejik-ing.sta') },
        classification: 'confidential',
        key_fields: ['booking_date'],
        value_fields: ['amount'],
        date_field: 'booking_date',
        currency_field: 'currency',
      },
      b: {
        name: 'GL',
        source: { connector: 'postgres', system: 'ledger', table: 'cash' },
        classification: 'confidential',
        key_fields: ['booking_date'],
        value_fields: ['amount'],
        date_field: 'booking_date',
        currency: 'EUR',
        mappings: [{ from: 'posted_on', to: 'booking_date' }],
      },
      rules: [{ id: 'exact', type: 'exact' }],
    };
    const { summary } = await run({ definition: bank, reconId: 'bank-vs-gl', period: '2010-07' });
    expect(summary.matches).toBe(6);
    expect(summary.keys).toEqual({ matched: 6, amountMismatch: 0, missingInA: 1, missingInB: 1 });
    expect(summary.a.records).toBe(7);
    expect(summary.b.records).toBe(7);
    expect(summary.controlTotals).toBe('balanced');
    expect(summary.reports!.map((r) => basename(r.path))).toContain('bank-vs-gl_exceptions_2010-07-31.xlsx');
  });

  it('refuses a definition that does not validate, naming the problem, before any activity runs', async () => {
    let activitiesRun = 0;
    const bad = { ...definition(), rules: [] } as unknown as ReconciliationDefinitionInput;
    const failure = await run({ definition: bad }, (real) => ({
      async extractReconSide(input) {
        activitiesRun++;
        return real.extractReconSide(input);
      },
    })).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe('InvalidDefinition');
    expect(cause.message).toMatch(/rules/);
    expect(activitiesRun).toBe(0);
  });

  it('refuses an input with neither a definition nor the legacy tables', async () => {
    const failure = await run({}).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(((failure as WorkflowFailedError).cause as Error & { type?: string }).type).toBe('InvalidInput');
  });

  it('keeps the totals of each currency apart when the sources hold several (CSV files on both sides)', async () => {
    const a = join(workDir, 'multi-a.csv');
    const b = join(workDir, 'multi-b.csv');
    await writeFile(a, 'account_code,amount,ccy\n1,100.00,EUR\n2,50.00,USD\n3,7.00,USD\n');
    await writeFile(b, 'account_code,amount,ccy\n1,100.00,EUR\n2,50.00,USD\n');
    const side = (path: string) => ({
      source: { connector: 'csv', path },
      classification: 'internal',
      key_fields: ['account_code'],
      value_fields: ['amount'],
      currency_field: 'ccy',
    });
    const { summary } = await run({
      reconId: 'multi',
      definition: { id: 'multi', a: side(a), b: side(b), rules: [{ id: 'exact', type: 'exact' }] },
    });
    expect(summary.a).toEqual({ records: 3, amount: 'multi-currency' });
    expect(summary.difference).toBe('multi-currency');
    expect(summary.totals!.differences).toEqual([
      { currency: 'EUR', a_minus_b: '0.00', exceptions_total: '0.00' },
      { currency: 'USD', a_minus_b: '7.00', exceptions_total: '7.00' },
    ]);
    expect(summary.keys).toEqual({ matched: 2, amountMismatch: 0, missingInA: 0, missingInB: 1 });
  });

  it('records the run as failed in the result store and removes its spill files when a partition is refused', async () => {
    let runId = '';
    const failure = await run({ definition: definition(), partitions: 2 }, (real) => ({
      async reconcilePartition(input) {
        runId = input.runId;
        await real.reconcilePartition(input);
        throw ApplicationFailure.nonRetryable('refused for the test', 'TestRefusal');
      },
    })).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(((failure as WorkflowFailedError).cause as Error).message).toMatch(/refused for the test/);
    const db = new Client({ connectionString: pgUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ status: string; reason: string }>(
        "SELECT status, summary->>'reason' AS reason FROM recon_runs WHERE run_id = $1",
        [runId],
      );
      expect(rows).toEqual([{ status: 'failed', reason: expect.stringMatching(/refused for the test/) }]);
    } finally {
      await db.end();
    }
    expect(existsSync(join(workDir, runDirName(runId)))).toBe(false);
  });

  it('fails on control totals when two records on different keys share an id, instead of losing one in the store', async () => {
    // Two keys in different partitions, so no single partition sees both records.
    const keys = ['K1', 'K2', 'K3', 'K4', 'K5', 'K6'];
    const k1 = keys[0];
    const k2 = keys.find((k) => partitionOf(k, 2) !== partitionOf(k1, 2)) as string;
    const a = join(workDir, 'dup-id-a.csv');
    const b = join(workDir, 'dup-id-b.csv');
    await writeFile(a, `txn,account_code,amount\nT1,${k1},10.00\nT1,${k2},20.00\n`);
    await writeFile(b, 'txn,account_code,amount\nT9,K0,5.00\n');
    const side = (path: string) => ({
      source: { connector: 'csv', path },
      classification: 'internal',
      key_fields: ['account_code'],
      value_fields: ['amount'],
      currency: 'EUR',
      id_field: 'txn',
    });
    const failure = await run({
      reconId: 'dup-id',
      partitions: 2,
      definition: { id: 'dup-id', a: side(a), b: { ...side(b), name: 'B' }, rules: [{ id: 'exact', type: 'exact' }] },
    }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe('ControlTotalsError');
    expect(cause.message).toMatch(/result store holds 1 missing_in_b exceptions, the reconciliation counted 2/);
  });
});
