// reconciliationWorkflow with a definition that asks for the DuckDB plane (engine: duckdb) on the time-skipping
// server: the same workflow code and history shape as today's plane, the same summary and exceptions, the matches
// in Parquet beside the reports, and the engine recorded with the run. Real PostgreSQL result store.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { matchesDirOf } from '../../activities/recon/duckdb/activity';
import { createResultStore } from '../../activities/result-store';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { CATEGORIES } from '../../domain/recon';
import { partitionsFor } from '../../domain/recon/run-plan';
import type { reconciliationWorkflow } from '../../workflows';
import type { ReconciliationSummary } from '../../contracts';
import { normalisingCsvDefinition, writeNormalisingCsv } from '../../bench/lib/recon-csv';
import { planScenario, plantedTruth } from '../../examples/monthly-close/generator';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
let dir: string;
let files: { gl: string; erp: string };
const plan = planScenario({ records: 3000, seed: 20261209 });

beforeAll(async () => {
  systems = systemsFromEnv({ DATABASE_URL: await freshDatabase('recon_duck_wf') });
  dir = await mkdtemp(join(tmpdir(), 'finflow-recon-duck-wf-'));
  files = await writeNormalisingCsv(plan, dir);
  await workflowBundle();
}, 180_000);

afterAll(async () => {
  await systems?.close();
});

jest.setTimeout(120_000);
freshTimeSkippingServerPerTest((e) => (env = e));

async function run(
  engine: 'typescript' | 'duckdb',
  on: { files?: { gl: string; erp: string }; partitions?: number } = { partitions: 4 },
): Promise<ReconciliationSummary> {
  // `engine` is read by the activities from the definition as written (the workflow hands it on unchanged).
  const definition = { ...normalisingCsvDefinition(on.files ?? files), engine };
  const taskQueue = uniqueId('recon-duck');
  const worker = await Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      activities: createActivities({
        systems,
        recon: { workDir: join(dir, 'work'), reportsDir: join(dir, 'reports') },
      }),
    }),
  );
  return worker.runUntil(
    env.client.workflow.execute<typeof reconciliationWorkflow>('reconciliationWorkflow', {
      taskQueue,
      workflowId: uniqueId(`recon:ACME:2026-10:csv-${engine}`),
      args: [
        {
          company: 'ACME',
          period: '2026-10',
          reconId: 'gl-vs-erp-csv',
          ...(on.partitions === undefined ? {} : { partitions: on.partitions }),
          definition,
        },
      ],
    }),
  );
}

describe('reconciliationWorkflow on the DuckDB plane', () => {
  it('gives the summary of today’s plane, keeps the matches in Parquet beside the reports and records the engine', async () => {
    const ts = await run('typescript');
    const dd = await run('duckdb');
    const strip = (s: ReconciliationSummary) => ({ ...s, runId: undefined, reports: undefined });
    expect(strip(dd)).toEqual(strip(ts));
    const truth = plantedTruth(plan);
    for (const c of CATEGORIES) expect([c, dd.perCategory?.[c] ?? 0]).toEqual([c, truth.categories[c]]);
    expect(dd.matches).toBe(truth.matched.exact + truth.matched.accepted);
    expect(dd.controlTotals).toBe('balanced');

    const files = await readdir(matchesDirOf(join(dir, 'reports'), dd.runId as string));
    expect(files.sort()).toEqual([0, 1, 2, 3].map((p) => `partition-${p}-of-4.parquet`));
    const store = createResultStore({ pool: systems.postgres('results') });
    const recorded = (await store.getRun(dd.runId as string))?.summary as Record<string, unknown>;
    expect([recorded.engine, recorded.engineReason]).toEqual(['duckdb', 'the definition asks for engine: duckdb']);
    const before = (await store.getRun(ts.runId as string))?.summary as Record<string, unknown>;
    expect(before.engine).toBe('typescript');
  });

  it('reconciles a run whose sides DuckDB extracted in one pass where today’s plan splits it, every planted discrepancy found', async () => {
    const records = 120_000;
    const big = planScenario({ records, seed: 20261210 });
    const bigDir = await mkdtemp(join(tmpdir(), 'finflow-recon-duck-wf-big-'));
    const dd = await run('duckdb', { files: await writeNormalisingCsv(big, bigDir) });
    // Today's plan: 100k records per partition, so 2 here; on DuckDB 2M per partition (DUCKDB_PARTITIONS_PATCH).
    expect(partitionsFor(records)).toBe(2);
    expect(dd.partitions).toBe(1);
    const files = await readdir(matchesDirOf(join(dir, 'reports'), dd.runId as string));
    expect(files).toEqual(['partition-0-of-1.parquet']);
    const truth = plantedTruth(big);
    for (const c of CATEGORIES) expect([c, dd.perCategory?.[c] ?? 0]).toEqual([c, truth.categories[c]]);
    expect(dd.matches).toBe(truth.matched.exact + truth.matched.accepted);
    expect([dd.controlTotals, dd.a.records, dd.b.records]).toEqual(['balanced', truth.gl.records, truth.erp.records]);
  });
});
