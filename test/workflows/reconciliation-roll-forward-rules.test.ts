// Roll-forward under the reconciliation's own rules (issue 15), over two periods through Temporal (time-skipping
// server) with the result store in real PostgreSQL: December leaves a deposit in transit (500.00), a bank fee the
// bank books in January and a check nobody presents; January's bank holds the deposit at 499.98 (within the
// reconciliation's tolerance rule `cents`, 0.05) and the fee at its exact amount. Both December items close with a
// reference to the matching record, the deposit naming the rule and the difference it accepted; the check is carried
// with its first-seen date and age. The recorded history replays on this code.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Client, Pool } from 'pg';
import { createActivities } from '../../activities';
import { createResultStore } from '../../activities/result-store';
import { createExceptionActionStore, type LifecycleRow } from '../../activities/result-store/exception-actions';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { ReconciliationSummary } from '../../contracts';
import type { ReconciliationDefinitionInput } from '../../domain/recon';
import type { reconciliationWorkflow } from '../../workflows';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
let pool: Pool;
let workDir: string;

/** [ref, amount, posted_on] */
const GL = [
  ['M-1', '100.00', '2025-12-10'],
  ['DEP-1', '500.00', '2025-12-30'],
  ['FEE-2', '-35.00', '2025-12-31'],
  ['CHK-3', '-75.00', '2025-12-28'],
  ['M-2', '200.00', '2026-01-10'],
];
const BANK = [
  ['M-1', '100.00', '2025-12-10'],
  ['M-2', '200.00', '2026-01-10'],
  ['DEP-1', '499.98', '2026-01-02'],
  ['FEE-2', '-35.00', '2026-01-03'],
];

beforeAll(async () => {
  const url = await freshDatabase('recon_roll_forward_rules');
  const db = new Client({ connectionString: url });
  await db.connect();
  for (const [table, rows] of [
    ['gl', GL],
    ['bank', BANK],
  ] as const) {
    await db.query(`CREATE TABLE ${table} (ref text NOT NULL, amount numeric(18,2) NOT NULL, posted_on date NOT NULL)`);
    await db.query(`INSERT INTO ${table} SELECT * FROM unnest($1::text[], $2::numeric[], $3::date[])`, [
      rows.map((r) => r[0]),
      rows.map((r) => r[1]),
      rows.map((r) => r[2]),
    ]);
  }
  await db.end();
  systems = systemsFromEnv({
    DATABASE_URL: url,
    FINFLOW_SYSTEMS: JSON.stringify({ ledger: { engine: 'postgres', url } }),
  });
  pool = new Pool({ connectionString: url, max: 2 });
  workDir = await mkdtemp(join(tmpdir(), 'finflow-rf-rules-'));
  await workflowBundle();
}, 180_000);

afterAll(async () => {
  await pool?.end();
  await systems?.close();
});

jest.setTimeout(180_000);
freshTimeSkippingServerPerTest((e) => (env = e));

const side = (table: string, name: string) => ({
  name,
  source: {
    connector: 'postgres',
    system: 'ledger',
    sql: `SELECT ref, amount, posted_on FROM ${table} WHERE posted_on BETWEEN :period_start AND :period_end`,
  },
  classification: 'internal',
  key_fields: ['ref'],
  value_fields: ['amount'],
  date_field: 'posted_on',
  currency: 'USD',
});

const definition = (): ReconciliationDefinitionInput =>
  ({
    id: 'gl-vs-bank-rules',
    a: side('gl', 'GL'),
    b: side('bank', 'Bank'),
    rules: [
      { id: 'exact', type: 'exact' },
      { id: 'cents', type: 'tolerance', absolute: '0.05' },
    ],
  }) as ReconciliationDefinitionInput;

async function reconcile(period: string): Promise<{ summary: ReconciliationSummary; workflowId: string }> {
  const taskQueue = uniqueId('recon-rf-rules');
  const workflowId = uniqueId(`recon:ACME:${period}:gl-vs-bank-rules`);
  const worker = await Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      activities: createActivities({ systems, recon: { workDir, reportsDir: workDir } }),
    }),
  );
  const summary = await worker.runUntil(
    env.client.workflow.execute<typeof reconciliationWorkflow>('reconciliationWorkflow', {
      taskQueue,
      workflowId,
      args: [{ company: 'ACME', period, reconId: 'gl-vs-bank-rules', definition: definition(), partitions: 1 }],
    }),
  );
  return { summary, workflowId };
}

const actions = () => createExceptionActionStore({ pool, results: createResultStore({ pool }) });
const byKey = (rows: LifecycleRow[], key: string, bf = false) =>
  rows.find((r) => r.key === key && r.itemId.startsWith('bf:') === bf)!;

describe("roll-forward under the reconciliation's own rules", () => {
  it('clears a timing difference the next period settles within tolerance, naming the rule, and carries the rest with its age', async () => {
    const { summary: dec } = await reconcile('2025-12');
    expect(dec.perCategory?.missing_in_b).toBe(3);

    const { summary: jan, workflowId } = await reconcile('2026-01');
    expect(jan.rollForward).toMatchObject({
      fromRunId: dec.runId,
      broughtIn: { count: 3, totals: [{ currency: 'USD', total: '390.00' }] },
      cleared: { count: 2, totals: [{ currency: 'USD', total: '465.00' }] },
      carried: { count: 1, totals: [{ currency: 'USD', total: '-75.00' }] },
      clearedOwn: 2,
    });
    expect(jan.openExceptions).toBe(1);

    const rows = await actions().rows(jan.runId!);
    const system = `system:roll-forward (run ${jan.runId})`;
    const deposit = byKey(rows, 'DEP-1', true);
    expect(deposit).toMatchObject({
      state: 'resolved',
      resolutionKind: 'cleared_next_period',
      resolvedBy: system,
      firstSeen: '2025-12-31',
    });
    expect(deposit.resolutionReference).toBeTruthy();
    expect(deposit.resolution).toMatch(/within rule cents's tolerance \(difference 0\.02\)$/);
    expect(byKey(rows, 'DEP-1')).toMatchObject({
      state: 'resolved',
      resolutionReference: `${dec.runId}#${deposit.itemId.slice(3)}`,
    });
    expect(byKey(rows, 'FEE-2', true)).toMatchObject({ state: 'resolved', resolvedBy: system });
    expect(byKey(rows, 'FEE-2', true).resolution).toMatch(/has the same key and the opposite amount$/);
    // The check is carried: first seen in December, 31 days old at the end of January.
    expect(byKey(rows, 'CHK-3', true)).toMatchObject({ state: 'open', firstSeen: '2025-12-31', resolvedBy: null });
    const detail = (await actions().history(jan.runId!)).find((h) => h.action === 'roll_forward')?.detail as {
      cleared: { rule: string; residual: string }[];
    };
    expect(detail.cleared.map((c) => [c.rule, c.residual]).sort()).toEqual([
      ['cents', '0.02'],
      ['same_key_opposite_amount', '0'],
    ]);

    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId),
    ).resolves.toBeUndefined();
  });
});
