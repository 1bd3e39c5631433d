import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Client } from 'pg';
import { createActivities } from '../../activities';
import { CLI_ISSUER, APPROVAL_AUDIENCE } from '../../activities/approval';
import { signApprovalDecision } from '../../activities/approval/signing';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { ApprovalDecisionInput } from '../../domain/approval';
import { approvalSignal, statusQuery } from '../../workflows/definitions';
import type { monthEndCloseWorkflow } from '../../workflows';
import type { CloseStatus, MonthEndCloseInput } from '../../contracts';
import { seedPolicyInput } from '../unit/approval-fixtures';
import { PeopleKeys } from '../helpers/people-keys';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
/** Each person's own key, in the user key directory the worker reads (no CLI key is trusted otherwise). */
let people: PeopleKeys;

beforeAll(async () => {
  const url = await freshDatabase('close_wf');
  const db = new Client({ connectionString: url });
  await db.connect();
  // Ledger vs ERP with planted differences: 1001 matches, 1002 differs by 0.01, 1003 only in the ledger,
  // 1004 only in the ERP, 1005 is split over two ERP lines that add up.
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl VALUES ('1001','100.00'),('1002','250.10'),('1003','75.00'),('1005','40.00');
    INSERT INTO erp VALUES ('1001','100.00'),('1002','250.09'),('1004','12.34'),('1005','15.00'),('1005','25.00');`);
  await db.end();
  systems = systemsFromEnv({ DATABASE_URL: url });
  people = await PeopleKeys.of(['maya', 'dan', 'sue', 'sam']);
  await workflowBundle();
}, 120_000);

// The time-skipping server will not skip time while any workflow task is outstanding, so a workflow left
// behind by a failed test (its worker gone) would stall every later test: terminate whatever is still running.
const started: string[] = [];
afterEach(async () => {
  for (const id of started.splice(0)) {
    await env.client.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
  }
});

freshTimeSkippingServerPerTest((e) => (env = e));

afterAll(async () => {
  await systems?.close();
});

function closeInput(company: string): MonthEndCloseInput {
  started.push(`close:${company}:2026-10`, `recon:${company}:2026-10:gl-vs-erp`);
  return {
    company,
    period: '2026-10',
    owner: 'dora',
    // The seed's roles and limits; recon-review: a supervisor, escalating to manager then director after 4h each.
    approvalPolicy: seedPolicyInput(),
    tasks: [
      {
        id: 'gl_vs_erp',
        kind: 'reconciliation',
        config: {
          reconId: 'gl-vs-erp',
          a: { system: 'ledger', table: 'gl', keyField: 'account_code', valueField: 'balance' },
          b: { system: 'ledger', table: 'erp', keyField: 'acct_num', valueField: 'amt' },
        },
      },
      {
        id: 'recon_review',
        kind: 'approval',
        predecessors: ['gl_vs_erp'],
        config: {
          checkpointId: 'recon-review',
          item: { preparer: 'ann', evidence: [{ kind: 'bank_statement', ref: 'store://recon/gl-vs-erp/statement' }] },
        },
      },
    ],
  };
}

async function newWorker(taskQueue: string): Promise<Worker> {
  return Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      activities: createActivities({ systems, approval: { userKeys: people } }),
    }),
  );
}

/** The approval signal as `finflow approve --signing-key` sends it: a token signed with the approver's own key, signed at the server's (skipped) time. */
async function signed(
  workflowId: string,
  decision: Omit<ApprovalDecisionInput, 'workflowId' | 'checkpointId' | 'round' | 'roles'>,
) {
  const { token } = await signApprovalDecision(
    { workflowId, checkpointId: 'recon-review', round: 1, roles: [], ...decision },
    people.keyOf(decision.approverId),
    { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE, now: new Date(await env.currentTimeMs()) },
  );
  return { checkpointId: 'recon-review', token };
}

async function waitFor(
  handle: { query: (q: typeof statusQuery) => Promise<CloseStatus> },
  ok: (s: CloseStatus) => boolean,
) {
  for (let i = 0; i < 200; i++) {
    const s = await handle.query(statusQuery);
    if (ok(s)) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('status never reached the expected state');
}

describe('monthEndCloseWorkflow on the time-skipping server', () => {
  it('reconciles in a child workflow, escalates after 4h of server time in well under 10 s of wall time, and completes on approval', async () => {
    const taskQueue = uniqueId('tq');
    const company = uniqueId('ACME').replace(/[^A-Za-z0-9-]/g, '');
    const worker = await newWorker(taskQueue);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: `close:${company}:2026-10`,
        args: [closeInput(company)],
      });
      const open = await waitFor(handle, (s) => s.checkpoints.length === 1);
      const recon = open.tasks.find((t) => t.id === 'gl_vs_erp')?.result;
      expect(recon).toMatchObject({
        status: 'exceptions',
        a: { records: 4, amount: '465.10' },
        b: { records: 5, amount: '402.43' },
        keys: { matched: 2, amountMismatch: 1, missingInA: 1, missingInB: 1 },
        difference: '62.67',
      });
      expect(open.checkpoints[0]).toMatchObject({ state: 'open', allowedRoles: ['supervisor'], escalations: [] });

      const wallStart = Date.now();
      const serverStart = await env.currentTimeMs();
      await env.sleep('4h');
      const escalated = await waitFor(handle, (s) => s.checkpoints[0].escalations.length === 1);
      const wall = Date.now() - wallStart;
      expect((await env.currentTimeMs()) - serverStart).toBeGreaterThanOrEqual(4 * 3600_000);
      expect(wall).toBeLessThan(10_000);
      expect(escalated.checkpoints[0].allowedRoles).toEqual(['supervisor', 'manager']);
      expect(escalated.checkpoints[0].escalations[0].toRole).toBe('manager');

      await handle.signal(
        approvalSignal,
        await signed(handle.workflowId, {
          decision: 'approved',
          approverId: 'maya',
          resolution: 'the four differences are timing items, cleared on 2 November',
        }),
      );
      const result = await handle.result();
      expect(result.state).toBe('completed');
      expect(result.percentDone).toBe(100);
      expect(result.tasks.map((t) => [t.id, t.state])).toEqual([
        ['gl_vs_erp', 'done_with_exceptions'],
        ['recon_review', 'done'],
      ]);
      expect(result.checkpoints[0].decisions[0]).toMatchObject({
        approverId: 'maya',
        role: 'manager',
        decision: 'approved',
        viaEscalation: true,
        signed: true,
      });
    });
  });

  it('refuses an approval from a role the checkpoint does not allow yet, and records the attempt', async () => {
    const taskQueue = uniqueId('tq');
    const company = uniqueId('ACME').replace(/[^A-Za-z0-9-]/g, '');
    const worker = await newWorker(taskQueue);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: `close:${company}:2026-10`,
        args: [closeInput(company)],
      });
      await waitFor(handle, (s) => s.checkpoints.length === 1);
      await handle.signal(
        approvalSignal,
        await signed(handle.workflowId, { decision: 'approved', approverId: 'dan', resolution: 'explained' }),
      );
      const s = await waitFor(handle, (st) => st.checkpoints[0].refusals.length === 1);
      expect(s.checkpoints[0].state).toBe('open');
      expect(s.checkpoints[0].refusals[0]).toMatchObject({
        approverId: 'dan',
        reason: 'wrong_role',
        message: expect.stringContaining('role director may not sign level 1 of recon-review'),
      });
      await handle.signal(
        approvalSignal,
        await signed(handle.workflowId, { decision: 'approved', approverId: 'sue', resolution: 'explained' }),
      );
      expect((await handle.result()).state).toBe('completed');
    });
  });

  it('marks the checkpoint deadlocked and blocks the task with a reason once the escalation path is exhausted', async () => {
    const taskQueue = uniqueId('tq');
    const company = uniqueId('ACME').replace(/[^A-Za-z0-9-]/g, '');
    const worker = await newWorker(taskQueue);
    await worker.runUntil(async () => {
      const result = await env.client.workflow.execute<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: `close:${company}:2026-10`,
        args: [closeInput(company)],
      });
      expect(result.state).toBe('blocked');
      expect(result.checkpoints[0].state).toBe('deadlocked');
      expect(result.checkpoints[0].escalations.map((e) => e.toRole)).toEqual(['manager', 'director']);
      const review = result.tasks.find((t) => t.id === 'recon_review');
      expect(review).toMatchObject({
        state: 'blocked',
        reason:
          'no decision on recon-review round 1 after escalating through manager -> director: deadlocked, the close owner must act',
      });
      expect(result.checkpoints[0].blockedReason).toBe(review?.reason);
    });
  });

  it('refuses a plan with a dependency cycle before running anything', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await newWorker(taskQueue);
    const input = closeInput('CYCLE');
    input.tasks[0].predecessors = ['recon_review'];
    await worker.runUntil(async () => {
      await expect(
        env.client.workflow.execute<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
          taskQueue,
          workflowId: uniqueId('close-cycle'),
          args: [input],
        }),
      ).rejects.toMatchObject({
        cause: { type: 'InvalidClosePlan', message: expect.stringContaining('cycle among: gl_vs_erp, recon_review') },
      });
    });
  });
});
