// Connectors as plug-ins (issue 16): a worker given a connector by engine name (`registerConnector('jsonl', factory)`)
// reconciles a system of that engine through it, beside a CSV file read by finflow's own connector behind the same
// interface (contracts/connector.ts). The connector is the tests' own (test/helpers/jsonl-connector.ts): its query
// `<file> WHERE <field> = :<param>` with a named parameter. Real time-skipping Temporal, real PostgreSQL result store;
// the Engine refuses a system whose engine has no connector before anything starts.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { systemsFromEnv, type SystemRegistry as WorkerSystems } from '../../activities/systems';
import {
  ConnectorRegistry,
  DataSourceRegistry,
  Engine,
  FinancialWorkflow,
  FinflowBuildError,
  SystemRegistry,
} from '../../client/library';
import type { ReconciliationDefinitionInput } from '../../domain/recon/definition';
import { reconciliationTaskQueueOf } from '../../platform/config';
import { jsonl } from '../helpers/jsonl-connector';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let systems: WorkerSystems;
let dir: string;
let library: SystemRegistry;
let connectors: ConnectorRegistry;

const definition = (glQuery: string): ReconciliationDefinitionInput =>
  ({
    id: 'ledger-vs-bank',
    a: {
      source: { connector: 'jsonl', system: 'ledger', sql: glQuery },
      classification: 'internal',
      key_fields: ['ref'],
      value_fields: ['amount'],
      currency: 'EUR',
    },
    b: {
      source: { connector: 'csv', path: `${dir}/bank.csv` },
      classification: 'internal',
      key_fields: ['ref'],
      value_fields: ['amount'],
      currency: 'EUR',
    },
    rules: [{ id: 'exact', type: 'exact' }],
  }) as unknown as ReconciliationDefinitionInput;

beforeAll(async () => {
  const url = await freshDatabase('connector_plugin');
  dir = await mkdtemp(join(tmpdir(), 'finflow-connector-plugin-'));
  // October: R1 and R2 match the bank, R3 is only in the ledger; R0 is September's and the :period filter drops it.
  await writeFile(
    join(dir, 'gl.jsonl'),
    [
      { ref: 'R0', period: '2026-09', amount: '999.99' },
      { ref: 'R1', period: '2026-10', amount: '100.10' },
      { ref: 'R2', period: '2026-10', amount: '20.00' },
      { ref: 'R3', period: '2026-10', amount: '5.05' },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  await writeFile(
    join(dir, 'gl-bad.jsonl'),
    '{"ref":"R1","period":"2026-10","amount":"1.00"}\n{"ref":"R2","period":"2026-10","amount":2.5}\n',
  );
  await writeFile(join(dir, 'bank.csv'), 'ref,amount\nR1,100.10\nR2,20.00\n');
  connectors = new ConnectorRegistry().registerConnector('jsonl', jsonl);
  library = new SystemRegistry().register('ledger', 'jsonl', { connectionString: `file://${dir}` });
  // The worker learns the ledger's engine and URL as a deployment would: the library's FINFLOW_SYSTEMS for it.
  systems = systemsFromEnv({ DATABASE_URL: url, ...library.toWorkerEnvironment({}, connectors) });
  await workflowBundle();
}, 180_000);

afterAll(async () => {
  await systems?.close();
});

freshTimeSkippingServerPerTest((e) => (env = e));
jest.setTimeout(120_000);

async function withWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue: reconciliationTaskQueueOf({ taskQueue }),
      activities: createActivities({
        systems,
        connectors,
        recon: { workDir: join(dir, 'work'), reportsDir: join(dir, 'reports') },
      }),
    }),
  );
  return worker.runUntil(fn);
}

function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    out.push(e.message ?? '');
  return out.join(' <- ');
}

describe('a connector registered by engine name', () => {
  it('reconciles a system of its engine, with the named parameter bound, beside a CSV file', async () => {
    const taskQueue = uniqueId('connector-plugin');
    const company = uniqueId('ACME').replace(/[^A-Za-z0-9-]/g, '');
    const engine = new Engine({
      systems: library,
      connectors,
      dataSources: new DataSourceRegistry(),
      client: env.client,
      temporal: { taskQueue },
    });
    const summary = await withWorker(taskQueue, () =>
      engine.reconcile(definition('gl.jsonl WHERE period = :period'), { month_end_date: '2026-10-31', company }),
    );
    expect(summary.a).toEqual({ records: 3, amount: '125.15' });
    expect(summary.b).toEqual({ records: 2, amount: '120.10' });
    expect(summary.matches).toBe(2);
    expect(summary.perCategory).toMatchObject({ missing_in_b: 1 });
    expect(summary.controlTotals).toBe('balanced');
  });

  it("fails the reconciliation naming the source's line and field when the connector reports bad data", async () => {
    const taskQueue = uniqueId('connector-bad');
    const company = uniqueId('BAD').replace(/[^A-Za-z0-9-]/g, '');
    const engine = new Engine({
      systems: library,
      connectors,
      dataSources: new DataSourceRegistry(),
      client: env.client,
      temporal: { taskQueue },
    });
    const err = await withWorker(taskQueue, () =>
      engine.reconcile(definition('gl-bad.jsonl'), { month_end_date: '2026-10-31', company }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(messages(err)).toContain('gl-bad.jsonl line 2, field amount: a JSON number');
  });

  it('is what a library data source on a system of that engine is read with', () => {
    const dataSources = new DataSourceRegistry().register('gl', {
      system: 'ledger',
      query: 'gl.jsonl WHERE period = :period',
      keyFields: ['ref'],
      valueFields: ['amount'],
      currency: 'EUR',
    });
    dataSources.register('bank', {
      connector: 'csv',
      path: 'bank.csv',
      keyFields: ['ref'],
      valueFields: ['amount'],
      currency: 'EUR',
    });
    const engine = new Engine({ systems: library, connectors, dataSources });
    const plan = engine.build(
      new FinancialWorkflow('close')
        .setCloseIntegration({ company: 'ACME', owner: 'carla.controller' })
        .addReconciliation({
          id: 'gl-vs-bank',
          ownerRole: 'accountant',
          sourceA: 'gl',
          sourceB: 'bank',
          matchingRules: [{ id: 'exact', type: 'exact' }],
        }),
      { month_end_date: '2026-10-31' },
    );
    const task = plan.tasks.find((t) => t.kind === 'reconciliation');
    const def = (task?.config as { definition: { a: { source: unknown } } }).definition;
    expect(def.a.source).toEqual({ connector: 'jsonl', system: 'ledger', sql: 'gl.jsonl WHERE period = :period' });
  });
});

describe('an engine without a connector', () => {
  it('is refused when the Engine is built, naming the engine and how to register a connector', () => {
    const systems = new SystemRegistry().register('gl', 'oracle', { connectionString: 'oracle://gl.example/ORCL' });
    let err: unknown;
    try {
      new Engine({ systems, connectors, dataSources: new DataSourceRegistry() });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FinflowBuildError);
    const message = (err as Error).message;
    expect(message).toContain('systems.gl.engine: no connector reads engine "oracle"');
    expect(message).toContain('registered: jsonl');
    expect(message).toContain("registerConnector('oracle', factory)");
    expect(message).toContain('startWorker({ connectors })');
  });

  it('is refused by a worker that was not given one, naming the engine', async () => {
    const taskQueue = uniqueId('connector-missing');
    const company = uniqueId('NONE').replace(/[^A-Za-z0-9-]/g, '');
    const engine = new Engine({ dataSources: new DataSourceRegistry(), client: env.client, temporal: { taskQueue } });
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue: reconciliationTaskQueueOf({ taskQueue }),
        activities: createActivities({
          systems,
          recon: { workDir: join(dir, 'work'), reportsDir: join(dir, 'reports') },
        }),
      }),
    );
    const err = await worker.runUntil(
      engine.reconcile(definition('gl.jsonl'), { month_end_date: '2026-10-31', company }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(messages(err)).toContain(`no connector for engine "jsonl"`);
    expect(messages(err)).toContain("registerConnector('jsonl', factory)");
  });

  it('cannot take the name of one of finflow’s own engines, nor be registered twice', () => {
    expect(() => new ConnectorRegistry().registerConnector('postgres', jsonl)).toThrow(/finflow reads postgres itself/);
    expect(() => new ConnectorRegistry().registerConnector('jsonl', jsonl).registerConnector('jsonl', jsonl)).toThrow(
      /registered twice/,
    );
    expect(() => new ConnectorRegistry().registerConnector('Oracle DB', jsonl)).toThrow(/lower-case/);
  });
});
