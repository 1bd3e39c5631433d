// The audit trail exported from real Temporal histories: a close runs on the time-skipping server with the
// encryption codec on (so the server holds only ciphertext), is approved after a 4 h escalation, and its
// history and its children's are exported, decoded and masked.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { createActivities } from '../../activities';
import { exportCloseHistory, type TrailEntry } from '../../activities/history-export';
import { generateMasterKey, KeyRing } from '../../activities/security/key-ring';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { maskByFieldName } from '../../domain/security/masking';
import { SecurityPolicySchema } from '../../domain/security/policy';
import { createDataConverter, FAILURE_CONVERTER_PATH } from '../../platform/data-converter';
import { approvalSignal, statusQuery } from '../../workflows/definitions';
import type { MonthEndCloseInput } from '../../contracts';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, uniqueId } from '../helpers/temporal';

const IBAN = 'DE89370400440532013000';
let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
let bundle: WorkflowBundleWithSourceMap;
const dataConverter = createDataConverter(new KeyRing([generateMasterKey('k1')], 'k1'));

beforeAll(async () => {
  const url = await freshDatabase('history_export');
  const db = new PgClient({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl VALUES ('1001','100.00'),('1002','250.10'),('1003','75.00');
    INSERT INTO erp VALUES ('1001','100.00'),('1002','250.09'),('1004','12.34');`);
  await db.end();
  systems = systemsFromEnv({ DATABASE_URL: url });
  // Failures are encrypted only when the workflow bundle carries the failure converter too.
  bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
}, 180_000);

freshTimeSkippingServerPerTest((e) => (env = e));

afterAll(async () => {
  await systems?.close();
});

function plan(company: string): MonthEndCloseInput {
  const ref = (table: string, key: string, value: string) => ({
    system: 'ledger',
    table,
    keyField: key,
    valueField: value,
  });
  return {
    company,
    period: '2026-10',
    // The approval is sent unsigned: development mode (see workflows/approval/checkpoints.ts).
    allowUnsignedApprovals: true,
    tasks: [
      {
        id: 'gl_vs_erp',
        kind: 'reconciliation',
        config: { reconId: 'gl-vs-erp', a: ref('gl', 'account_code', 'balance'), b: ref('erp', 'acct_num', 'amt') },
      },
      {
        id: 'bank_vs_gl',
        kind: 'reconciliation',
        // A table name no connector accepts: the child's activity fails, and the trail must say why.
        config: {
          reconId: 'bank-vs-gl',
          a: ref('bank statement', 'iban', 'amount'),
          b: ref('gl', 'account_code', 'balance'),
        },
      },
      {
        id: 'recon_review',
        kind: 'approval',
        predecessors: ['gl_vs_erp'],
        config: { checkpointId: 'recon-review', role: 'supervisor', escalation: { timeout: '4h', path: ['manager'] } },
      },
    ],
  };
}

describe('history export of a close', () => {
  it('writes a decoded, masked trail of the parent and its children: signals, timers, activities, failures', async () => {
    const company = uniqueId('HIST').replace(/[^A-Za-z0-9-]/g, '');
    const workflowId = `close:${company}:2026-10`;
    const taskQueue = uniqueId('tq');
    const client = new Client({ connection: env.connection, dataConverter });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: createActivities({ systems }),
      dataConverter,
    });
    await worker.runUntil(async () => {
      const handle = await client.workflow.start('monthEndCloseWorkflow', {
        taskQueue,
        workflowId,
        args: [plan(company)],
      });
      for (let i = 0; i < 200 && !(await handle.query(statusQuery)).checkpoints.length; i++)
        await new Promise((r) => setTimeout(r, 50));
      await env.sleep('4h');
      for (let i = 0; i < 200 && !(await handle.query(statusQuery)).checkpoints[0].escalations.length; i++)
        await new Promise((r) => setTimeout(r, 50));
      await handle.signal(approvalSignal, {
        checkpointId: 'recon-review',
        decision: 'approved',
        approverId: 'maria',
        role: 'manager',
        comments: `differences explained; refund to ${IBAN}`,
      });
      await handle.result();
    });

    // The server holds ciphertext only: without the codec nothing is readable.
    const raw = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const rawSignal = raw.events?.find((e) => e.workflowExecutionSignaledEventAttributes)
      ?.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
    expect(Buffer.from(rawSignal?.metadata?.encoding ?? []).toString()).toBe('binary/encrypted');
    expect(Buffer.from(rawSignal?.data ?? []).toString('latin1')).not.toContain('maria');

    const outDir = mkdtempSync(join(tmpdir(), 'finflow-history-'));
    const policy = SecurityPolicySchema.parse({ fields: { 'approval.comments': 'restricted' } });
    const result = await exportCloseHistory(
      {
        client,
        codecs: dataConverter.payloadCodecs,
        mask: (v) => maskByFieldName(v, policy, ['auditor']).value,
      },
      { workflowId, outDir },
    );
    expect(result.workflows.map((w) => [w.workflowId, w.workflowType])).toEqual([
      [workflowId, 'monthEndCloseWorkflow'],
      [`recon:${company}:2026-10:gl-vs-erp`, 'reconciliationWorkflow'],
      [`recon:${company}:2026-10:bank-vs-gl`, 'reconciliationWorkflow'],
    ]);

    const jsonl = readFileSync(join(outDir, 'history.jsonl'), 'utf8');
    const trail = jsonl
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TrailEntry);
    expect(trail).toHaveLength(result.entries);
    const of = (wf: string, event: string) => trail.filter((e) => e.workflowId === wf && e.event === event);
    const times = trail.map((e) => e.time);
    expect([...times].sort()).toEqual(times);

    const [signal] = of(workflowId, 'WORKFLOW_EXECUTION_SIGNALED');
    expect(signal.details).toMatchObject({
      signalName: 'approval',
      input: [
        {
          checkpointId: 'recon-review',
          decision: 'approved',
          approverId: 'maria',
          role: 'manager',
          comments: '****3000',
        },
      ],
    });
    expect(signal.summary).toContain('signal approval: {"checkpointId":"recon-review","decision":"approved"');

    const [timer] = of(workflowId, 'TIMER_STARTED');
    expect(timer.summary).toMatch(/^timer \d+ started for 4h$/);
    const fired = of(workflowId, 'TIMER_FIRED');
    expect(fired.length).toBeGreaterThanOrEqual(1);
    // Four hours of server time separate the timer's start from its firing.
    expect(Date.parse(fired[0].time) - Date.parse(timer.time)).toBeGreaterThanOrEqual(4 * 3600_000);
    expect(Date.parse(signal.time)).toBeGreaterThan(Date.parse(fired[0].time));

    const child = `recon:${company}:2026-10:gl-vs-erp`;
    expect(of(child, 'ACTIVITY_TASK_SCHEDULED')[0].summary).toMatch(/^activity reconcileTables scheduled/);
    const done = of(child, 'ACTIVITY_TASK_COMPLETED')[0];
    expect(done.summary).toMatch(/^activity reconcileTables completed: /);
    expect(done.details).toMatchObject({
      result: [{ reconId: 'gl-vs-erp', keys: { matched: 1, amountMismatch: 1, missingInA: 1, missingInB: 1 } }],
    });
    expect(of(workflowId, 'CHILD_WORKFLOW_EXECUTION_STARTED').map((e) => e.summary)).toEqual([
      `child workflow ${child} started`,
      `child workflow recon:${company}:2026-10:bank-vs-gl started`,
    ]);

    const failed = of(`recon:${company}:2026-10:bank-vs-gl`, 'ACTIVITY_TASK_FAILED')[0];
    expect(failed.summary).toBe(
      'activity reconcileTables failed: a.table "bank statement" is not a plain SQL identifier',
    );
    // On the server that message sits encrypted in the failure's encoded attributes.
    const rawChild = await env.client.workflow.getHandle(`recon:${company}:2026-10:bank-vs-gl`).fetchHistory();
    const rawFailure = rawChild.events?.find((e) => e.activityTaskFailedEventAttributes)
      ?.activityTaskFailedEventAttributes?.failure;
    expect(rawFailure?.message).not.toContain('bank statement');
    expect(rawFailure?.encodedAttributes).toBeTruthy();
    expect(of(workflowId, 'CHILD_WORKFLOW_EXECUTION_FAILED')).toHaveLength(1);
    expect(of(workflowId, 'WORKFLOW_EXECUTION_COMPLETED')).toHaveLength(1);
    // Bookkeeping events are left out, and the restricted value appears nowhere in either file.
    expect(trail.some((e) => e.event.startsWith('WORKFLOW_TASK_'))).toBe(false);
    const html = readFileSync(join(outDir, 'history.html'), 'utf8');
    expect(jsonl).not.toContain(IBAN);
    expect(html).not.toContain(IBAN);
    expect(html).toContain('timer');
    expect(html).toContain('signal approval');

    // The same history exported again gives the same bytes (the evidence package's manifest depends on it).
    const again = await exportCloseHistory(
      { client, codecs: dataConverter.payloadCodecs, mask: (v) => maskByFieldName(v, policy, ['auditor']).value },
      { workflowId, outDir },
    );
    expect(again.files.map((f) => f.sha256)).toEqual(result.files.map((f) => f.sha256));
  }, 120_000);

  it('marks payloads it cannot decode instead of copying ciphertext into the trail', async () => {
    const company = uniqueId('NOKEY').replace(/[^A-Za-z0-9-]/g, '');
    const workflowId = `close:${company}:2026-10`;
    const taskQueue = uniqueId('tq');
    const client = new Client({ connection: env.connection, dataConverter });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: createActivities({ systems }),
      dataConverter,
    });
    const input = plan(company);
    input.tasks = [input.tasks[0]];
    await worker.runUntil(client.workflow.execute('monthEndCloseWorkflow', { taskQueue, workflowId, args: [input] }));
    const outDir = mkdtempSync(join(tmpdir(), 'finflow-history-'));
    await exportCloseHistory({ client }, { workflowId, outDir });
    const trail = readFileSync(join(outDir, 'history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TrailEntry);
    const started = trail.find((e) => e.event === 'WORKFLOW_EXECUTION_STARTED' && e.workflowId === workflowId);
    expect(started?.details).toMatchObject({ input: [{ undecodable: expect.stringContaining('binary/encrypted') }] });
    // The close's input names its tables; undecoded, none of it may show.
    expect(JSON.stringify(trail)).not.toContain('account_code');
    expect(trail.some((e) => e.event === 'ACTIVITY_TASK_COMPLETED')).toBe(true);
  }, 60_000);
});
