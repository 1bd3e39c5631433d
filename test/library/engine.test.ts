// The library's Engine on a real Temporal server (time-skipping) with a real worker and PostgreSQL: a workflow built
// with the builders starts as a close, the Execution follows it, a signed approval moves it on, and the results
// come back in the seed's shape. Bad calls are refused, saying why.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Client } from 'pg';
import { createActivities } from '../../activities';
import { systemsFromEnv, type SystemRegistry as WorkerSystems } from '../../activities/systems';
import {
  ApprovalConfig,
  DataSourceRegistry,
  Engine,
  FinancialWorkflow,
  FinflowBuildError,
  MappingRegistry,
  SystemRegistry,
} from '../../client/library';
import { PeopleKeys } from '../helpers/people-keys';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let workerSystems: WorkerSystems;
/** ann's and sam's own keys, in the user key directory the worker reads. */
let people: PeopleKeys;
let dirs: { workDir: string; reportsDir: string };
const started: string[] = [];

beforeAll(async () => {
  const url = await freshDatabase('library_engine');
  const db = new Client({ connectionString: url });
  await db.connect();
  // Six GL lines; the ERP misses one, differs on one by 9.00, and has one the GL lacks.
  await db.query(`
    CREATE TABLE gl (document_no text, balance numeric(18,2), currency text);
    CREATE TABLE erp (doc_ref text, total numeric(18,4), curr text);
    INSERT INTO gl VALUES ('D1','100.00','USD'),('D2','250.10','USD'),('D3','75.00','USD'),
                          ('D4','12.00','USD'),('D5','8.50','USD'),('D6','1.00','USD');
    INSERT INTO erp VALUES ('D1','100.0000','USD'),('D2','250.1000','USD'),('D3','84.0000','USD'),
                           ('D4','12.0000','USD'),('D5','8.5000','USD'),('D9','3.0000','USD');`);
  await db.end();
  // The worker knows the systems from its own environment; the library's plan names them only.
  workerSystems = systemsFromEnv({ DATABASE_URL: url });
  people = await PeopleKeys.of(['ann', 'sam']);
  const base = mkdtempSync(join(tmpdir(), 'finflow-library-'));
  dirs = { workDir: join(base, 'work'), reportsDir: join(base, 'reports') };
  await workflowBundle();
}, 120_000);

freshTimeSkippingServerPerTest((e) => (env = e));

afterEach(async () => {
  for (const id of started.splice(0))
    await env.client.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
});

afterAll(async () => {
  await workerSystems?.close();
});

function registries() {
  const systems = new SystemRegistry().register('general_ledger', 'postgres').register('erp', 'postgres');
  const dataSources = new DataSourceRegistry()
    .register('gl_balances', {
      system: 'general_ledger',
      query: 'SELECT document_no, balance, currency FROM gl',
      keyFields: ['document_no'],
      valueFields: ['balance'],
      currencyField: 'currency',
      label: 'GL',
    })
    .register('erp_balances', {
      system: 'erp',
      query: 'SELECT doc_ref, total, curr FROM erp',
      keyFields: ['doc_ref'],
      valueFields: ['total'],
      currencyField: 'curr',
      label: 'ERP',
    });
  const mappings = new MappingRegistry().register('gl_to_erp', {
    keyMappings: { document_no: 'doc_ref' },
    valueMappings: { balance: 'total' },
    fieldMappings: { currency: 'curr' },
    transformations: [{ op: 'round', field: 'balance', places: 2, mode: 'half_even' }],
  });
  const approvals = new ApprovalConfig()
    .defineRole('accountant', { canPrepare: ['reconciliation'] })
    .defineRole('supervisor', { canApprove: ['reconciliation'] })
    .addUser('ann', { roles: ['accountant'], manager: 'sam' })
    .addUser('sam', { roles: ['supervisor'] });
  return { systems, dataSources, mappings, approvals };
}

function workflow(company: string, opts: { entry?: boolean } = {}): FinancialWorkflow {
  const wf = new FinancialWorkflow('monthly_close').setCloseIntegration({
    company,
    owner: 'sam',
    closeTaskId: 'gl_vs_erp',
    requireSignedTaskActions: opts.entry,
  });
  // A person's task first: the accountant's preliminary close, completed with a signed action.
  if (opts.entry)
    wf.addTask({ id: 'preliminary_close', name: 'Preliminary close', kind: 'journal_entry', ownerRole: 'accountant' });
  return wf
    .addReconciliation({
      id: 'gl_vs_erp',
      reconId: 'gl-vs-erp',
      ownerRole: 'accountant',
      sourceA: 'gl_balances',
      sourceB: 'erp_balances',
      mapping: 'gl_to_erp',
      matchingRules: [{ id: 'exact', type: 'exact', expectUnique: true }],
      ...(opts.entry ? { predecessors: ['preliminary_close'] } : {}),
    })
    .addApprovalCheckpoint({
      id: 'reconciliation_review',
      ownerRole: 'supervisor',
      predecessors: [{ task: 'gl_vs_erp', type: 'SS_WARN' }],
      itemType: 'reconciliation',
      requiredRoles: ['supervisor'],
      escalation: { timeout: '4h' },
      item: { type: 'reconciliation', preparer: 'ann', ref: 'gl-vs-erp' },
    });
}

async function withWorker<T>(taskQueue: string, body: () => Promise<T>): Promise<T> {
  const worker = await Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      activities: createActivities({
        systems: workerSystems,
        approval: { userKeys: people },
        recon: dirs,
      }),
    }),
  );
  return worker.runUntil(body);
}

function engine(taskQueue: string, extra: Partial<ConstructorParameters<typeof Engine>[0]> = {}): Engine {
  return new Engine({
    ...registries(),
    client: env.client,
    // One queue for the close and its reconciliation children: this test runs one worker.
    temporal: { namespace: 'default', taskQueue, reconciliationTaskQueue: taskQueue },
    keyProvider: null,
    // The engine's own key is ann's: a person signs with their own key (another's is refused by the worker).
    signingKey: people.keyOf('ann'),
    ...extra,
  });
}

const company = () => uniqueId('LIB').replace(/[^A-Za-z0-9-]/g, '');

describe('Engine running a workflow built from code', () => {
  it('executes the close, takes a signed task completion and a signed approval, and returns the seed-shaped results', async () => {
    const taskQueue = uniqueId('lib');
    const co = company();
    const eng = engine(taskQueue);
    await withWorker(taskQueue, async () => {
      const execution = await eng.execute(workflow(co, { entry: true }), { month_end_date: '2026-10-31' });
      started.push(execution.id);
      expect(execution.id).toBe(`close:${co}:2026-10`);
      expect(execution.started).toBe(true);

      await execution.waitFor('preliminary_close', { timeout: 30_000 });
      await expect(execution.completeTask('gl_vs_erp', { by: 'ann' })).rejects.toThrow(
        'task gl_vs_erp is not waiting to be completed (it is pending); running: preliminary_close',
      );
      expect(
        await execution.completeTask('preliminary_close', { by: 'ann', note: 'sub-ledgers posted' }),
      ).toMatchObject({
        accepted: true,
      });

      await execution.waitFor('reconciliation_review', { timeout: 30_000 });
      expect(await execution.currentStep()).toBe('reconciliation_review');

      // Not a checkpoint that waits: refused before anything is sent, naming the one that does.
      await expect(
        execution.submitApproval({ approver: 'sam', decision: 'approved', checkpoint: 'nope' }),
      ).rejects.toThrow(
        'checkpoint nope is not waiting for a decision (it is not open); waiting: reconciliation_review',
      );
      // The preparer may not approve their own reconciliation: the workflow refuses, and says why.
      const own = await execution.submitApproval({ approver: 'ann', decision: 'approved', comments: 'mine' });
      expect(own).toMatchObject({ accepted: false, reason: 'self_approval' });
      const ok = await execution.submitApproval({
        approver: 'sam',
        decision: 'approved',
        comments: 'reviewed',
        signingKey: people.keyOf('sam'),
      });
      expect(ok).toMatchObject({ accepted: true, checkpointId: 'reconciliation_review' });

      await execution.waitFor('completed', { timeout: 30_000 });
      const results = await execution.getResults();
      expect(results.status).toBe('completed');
      expect(results.reconciliation).toMatchObject({ itemsProcessed: 12, matchedItems: 4, exceptions: 3 });
      expect(results.reconciliation.byTask[0]).toMatchObject({
        taskId: 'gl_vs_erp',
        reconId: 'gl-vs-erp',
        difference: '-11.00',
      });
      expect(results.closeIntegration).toEqual({
        closeId: execution.id,
        taskId: 'gl_vs_erp',
        taskStatus: 'done_with_exceptions',
      });
      const journal = results.close?.journal?.find((j) => j.action === 'complete');
      expect(journal).toMatchObject({ by: 'ann', taskId: 'preliminary_close', signed: { issuer: 'finflow-cli' } });
      const decisions = results.close?.checkpoints[0].decisions ?? [];
      expect(decisions.map((d) => [d.approverId, d.decision, d.signed])).toEqual([['sam', 'approved', true]]);

      // The same close from elsewhere: attach finds it; executing it again starts nothing.
      const attached = await eng.attach(execution.id);
      expect((await attached.status()).state).toBe('completed');
      const again = await eng.execute(workflow(co, { entry: true }), { month_end_date: '2026-10-31' });
      expect(again.started).toBe(false);
    });
  });

  it('cancels an execution with a real cancellation request: the close stops its approval wait, ends cancelled and says who cancelled it and why', async () => {
    const taskQueue = uniqueId('lib');
    const eng = engine(taskQueue);
    await withWorker(taskQueue, async () => {
      const execution = await eng.execute(workflow(company()), { period: '2026-10' });
      started.push(execution.id);
      await execution.waitFor('reconciliation_review', { timeout: 30_000 });
      await expect(execution.waitFor('no_such_step')).rejects.toThrow('has no step no_such_step');
      await execution.cancel({ by: 'sam', reason: 'period closed by mistake' });
      const handle = env.client.workflow.getHandle(execution.id);
      for (let i = 0; i < 150 && (await handle.describe()).status.name === 'RUNNING'; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      const s = await execution.status();
      expect(s.state).toBe('cancelled');
      expect(s.cancellation).toMatchObject({
        by: 'sam',
        reason: 'period closed by mistake',
        tasksCancelled: ['reconciliation_review'],
      });
      const results = await execution.getResults();
      expect(results.status).toBe('cancelled');
      expect(results.closeIntegration.taskStatus).toBe('done_with_exceptions');
      await expect(execution.cancel()).rejects.toThrow(`${execution.id} is cancelled: there is nothing to cancel`);
    });
  });

  it('refuses to start with a system no connector reads, and an approval without a key', async () => {
    expect(() => engine('x', { systems: new SystemRegistry().register('erp', 'sap') })).toThrow(FinflowBuildError);
    expect(() => engine('x', { systems: new SystemRegistry().register('erp', 'sap') })).toThrow(
      'systems.erp.engine: no connector reads engine "sap"',
    );
    const taskQueue = uniqueId('lib');
    const eng = engine(taskQueue, { signingKey: undefined, env: {} });
    await withWorker(taskQueue, async () => {
      const execution = await eng.execute(workflow(company()), { period: '2026-10' });
      started.push(execution.id);
      await execution.waitFor('reconciliation_review', { timeout: 30_000 });
      await expect(execution.submitApproval({ approver: 'sam', decision: 'approved' })).rejects.toThrow(
        "submitApproval needs the approver's signing key",
      );
    });
  });
});
