// A reconciliation without a close (issue 16): `engine.reconcile(definition, parameters)` and `finflow recon run
// <definition.yaml> --param month_end_date=...` run the reconciliation workflow a close runs as its child, on the
// reconciliation task queue, with the definition's `{execution.parameters.x}` rendered; real time-skipping Temporal,
// real PostgreSQL result store, CSV sources, report files on disk. (Refusals before a start: test/unit/recon-run.test.ts.)
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { stringify } from 'yaml';
import { createActivities } from '../../activities';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { buildProgram } from '../../client/cli';
import { DataSourceRegistry, Engine } from '../../client/library';
import type { ReconciliationDefinitionInput } from '../../domain/recon/definition';
import { reconciliationTaskQueueOf } from '../../platform/config';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let pool: Pool;
let systems: SystemRegistry;
let dir: string;

const side = (file: string) => ({
  source: { connector: 'csv', path: `{execution.parameters.dir}/${file}` },
  classification: 'internal',
  key_fields: ['account_code'],
  value_fields: ['amount'],
  currency: 'USD',
});
const definition = (): ReconciliationDefinitionInput =>
  ({
    id: 'gl-vs-erp',
    a: side('gl.csv'),
    b: side('erp.csv'),
    rules: [{ id: 'exact', type: 'exact' }],
  }) as unknown as ReconciliationDefinitionInput;

beforeAll(async () => {
  const url = await freshDatabase('recon_run');
  pool = new Pool({ connectionString: url, max: 2 });
  systems = systemsFromEnv({ DATABASE_URL: url });
  dir = await mkdtemp(join(tmpdir(), 'finflow-recon-run-'));
  // 1 matches; 2 and 3 are only in the GL (75.75 in all), 4 only in the ERP.
  await writeFile(join(dir, 'gl.csv'), 'account_code,amount\n1,100.00\n2,20.50\n3,55.25\n');
  await writeFile(join(dir, 'erp.csv'), 'account_code,amount\n1,100.00\n4,3.00\n');
  await workflowBundle();
}, 180_000);

afterAll(async () => {
  await systems?.close();
  await pool?.end();
});

freshTimeSkippingServerPerTest((e) => (env = e));
jest.setTimeout(120_000);

async function withWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      // Where a close's reconciliation children run: the reconciliation task queue of the finflow task queue.
      taskQueue: reconciliationTaskQueueOf({ taskQueue }),
      activities: createActivities({
        systems,
        recon: { workDir: join(dir, 'work'), reportsDir: join(dir, 'reports') },
      }),
    }),
  );
  return worker.runUntil(fn);
}

describe('a reconciliation without a close', () => {
  it('runs through engine.reconcile with the parameters rendered, and returns the summary with its reports', async () => {
    const taskQueue = uniqueId('recon-run');
    const company = uniqueId('ACME').replace(/[^A-Za-z0-9-]/g, '');
    const engine = new Engine({ dataSources: new DataSourceRegistry(), client: env.client, temporal: { taskQueue } });
    const summary = await withWorker(taskQueue, () =>
      engine.reconcile(definition(), { month_end_date: '2026-10-31', dir, company }),
    );
    expect(summary.workflowId).toBe(`recon:${company}:2026-10:gl-vs-erp`);
    expect(summary.status).toBe('exceptions');
    expect(summary.a).toEqual({ records: 3, amount: '175.75' });
    expect(summary.b).toEqual({ records: 2, amount: '103.00' });
    expect(summary.matches).toBe(1);
    expect(summary.perCategory).toMatchObject({ missing_in_b: 2, missing_in_a: 1 });
    expect(summary.controlTotals).toBe('balanced');
    expect(summary.reports?.length).toBeGreaterThan(0);
    for (const r of summary.reports ?? []) expect(existsSync(r.path)).toBe(true);
    // The result store holds the run under the same workflow id a close's child would have.
    const { rows } = await pool.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM recon_exceptions WHERE run_id LIKE $1',
      [`${summary.workflowId}/%`],
    );
    expect(rows[0].n).toBe('3');
  });

  it('runs through `finflow recon run <definition.yaml> --param ...` and prints the summary and the report paths', async () => {
    const taskQueue = uniqueId('recon-cli');
    const company = uniqueId('CLI').replace(/[^A-Za-z0-9-]/g, '');
    const file = join(dir, 'gl-vs-erp.yaml');
    await writeFile(file, stringify(definition()));
    const printed: string[] = [];
    await withWorker(taskQueue, () =>
      buildProgram((s) => printed.push(s)).parseAsync([
        'node',
        'finflow',
        '--address',
        env.address,
        '--task-queue',
        taskQueue,
        'recon',
        'run',
        file,
        '--param',
        'month_end_date=2026-11-30',
        '--param',
        `dir=${dir}`,
        '--company',
        company,
      ]),
    );
    const text = printed.join('\n');
    expect(text).toContain(`recon:${company}:2026-11:gl-vs-erp: exceptions (control totals balanced)`);
    expect(text).toContain('A: 3 records, 175.75    B: 2 records, 103.00');
    expect(text).toContain('matched: 1 (exact 1)');
    expect(text).toMatch(/exceptions: 3, 3 open \(.*missing_in_a 1.*\)/);
    expect(text).toMatch(/report exceptions \(xlsx, 3 rows\): .*gl-vs-erp_exceptions_2026-11-30\.xlsx/);
  });
});
