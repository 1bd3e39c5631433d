// Issue 16 on the time-skipping server: a cancellation request ends the close as cancelled instead of failing its
// workflow task for ever. The running child reconciliation, activity, retry timer and person task are cancelled
// with it, the status says cancelled with who and why (from the cancelRequest note), the journal and the audit
// ledger hold the cancellation, and the documentation task never runs (no evidence package after the request).
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Client, Pool } from 'pg';
import { createActivities } from '../../activities';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import { closeTrail } from '../../activities/audit-ledger/trail';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { buildProgram } from '../../client/cli';
import { cancelledLine, watchClose } from '../../client/commands/close-view';
import { reconWorkflowId } from '../../domain/ids';
import { cancelRequestSignal, statusQuery } from '../../workflows/definitions';
import { cancelClose } from '../../client/close-cancel';
import { PeopleKeys } from '../helpers/people-keys';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';
import {
  companyId,
  startClose,
  task,
  terminateLeftovers,
  waitFor,
  type CloseStart,
  type Harness,
} from './close-harness';

const EventType = temporal.api.enums.v1.EventType;

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
let pool: Pool;
let ledger: AuditLedger;
const h: Harness = { env: () => env, started: [] };

beforeAll(async () => {
  const url = await freshDatabase('close_cancellation');
  const db = new Client({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl VALUES ('1001','100.00'),('1002','250.10');
    INSERT INTO erp VALUES ('1001','100.00'),('1002','250.10');`);
  await db.end();
  systems = systemsFromEnv({ DATABASE_URL: url });
  pool = new Pool({ connectionString: url, max: 2 });
  ledger = await AuditLedger.open({ pool });
  await workflowBundle();
}, 120_000);
afterEach(() => terminateLeftovers(h));
afterAll(async () => {
  await systems?.close();
  await pool?.end();
});
freshTimeSkippingServerPerTest((e) => (env = e));

/** Four kinds of work under way at once, and the evidence package waiting behind all of them. */
function busyPlan(company: string, reconQueue: string): CloseStart {
  return {
    company,
    period: '2026-10',
    owner: 'dora',
    maxParallel: 5,
    reconciliationTaskQueue: reconQueue,
    tasks: [
      { id: 'held', name: 'Sub-ledger feed', kind: 'activity', activity: 'holdOpen', ownerRole: 'accountant' },
      {
        id: 'flaky',
        name: 'Bank feed',
        kind: 'activity',
        activity: 'alwaysFails',
        ownerRole: 'accountant',
        retry: { maximumAttempts: 3, initialInterval: '1h' },
      },
      { id: 'prelim', name: 'Preliminary close', kind: 'manual', ownerRole: 'accountant' },
      {
        id: 'gl_vs_erp',
        name: 'GL vs ERP',
        kind: 'reconciliation',
        ownerRole: 'accountant',
        config: {
          reconId: 'gl-vs-erp',
          a: { system: 'ledger', table: 'gl', keyField: 'account_code', valueField: 'balance' },
          b: { system: 'ledger', table: 'erp', keyField: 'acct_num', valueField: 'amt' },
        },
      },
      {
        id: 'sox_documentation',
        name: 'SOX documentation',
        kind: 'documentation',
        ownerRole: 'controller',
        predecessors: ['held', 'flaky', 'prelim', 'gl_vs_erp'],
        config: { regulation: 'SOX', controlId: 'F-R3-GL-15' },
      },
    ],
  };
}

async function eventTypes(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).map((e) => EventType[e.eventType ?? 0]);
}

describe('a close that is cancelled', () => {
  it('cancels its running child reconciliation, activity, retry timer and person task, says who cancelled and why, journals it in the ledger, and writes no evidence', async () => {
    const taskQueue = uniqueId('tq');
    const reconQueue = uniqueId('recon');
    let releaseHeld: () => void = () => undefined;
    const held = new Promise<void>((r) => (releaseHeld = r));
    let evidenceCalls = 0;
    const activities = {
      ...createActivities({ systems, approval: { ledger } }),
      holdOpen: async () => {
        await held;
        return { feeds: 1 };
      },
      alwaysFails: async () => {
        throw new Error('bank portal down');
      },
    };
    const produceCloseEvidence = activities.produceCloseEvidence as (...a: unknown[]) => Promise<unknown>;
    activities.produceCloseEvidence = (async (...a: unknown[]) => {
      evidenceCalls++;
      return produceCloseEvidence(...a);
    }) as typeof activities.produceCloseEvidence;
    const worker = await Worker.create(
      await testWorkerOptions({ connection: env.nativeConnection, taskQueue, activities }),
    );
    try {
      await worker.runUntil(async () => {
        const company = companyId();
        const handle = await startClose(h, taskQueue, busyPlan(company, reconQueue));
        const childId = reconWorkflowId(company, '2026-10', 'gl-vs-erp');
        h.started.push(childId);
        // Every task under way: the reconciliation child started (no worker polls its queue yet), the activity
        // held open, the failing activity waiting on its one-hour retry timer, the person task waiting for ann.
        const before = await waitFor(
          handle,
          (s) =>
            ['held', 'prelim', 'gl_vs_erp'].every((id) => task(s, id).state === 'running') &&
            (task(s, 'flaky').reason ?? '').includes('retrying'),
          'every task under way',
        );
        expect(task(before, 'sox_documentation').state).toBe('pending');
        expect((await env.client.workflow.getHandle(childId).describe()).status.name).toBe('RUNNING');

        await handle.signal(cancelRequestSignal, { by: 'dora', reason: 'plan loaded for the wrong entity' });
        await handle.cancel();

        // The child reconciliation sees its cancellation once a worker takes its first task.
        const reconWorker = await Worker.create(
          await testWorkerOptions({ connection: env.nativeConnection, taskQueue: reconQueue, activities }),
        );
        await reconWorker.runUntil(async () => {
          for (let i = 0; i < 200 && (await handle.describe()).status.name === 'RUNNING'; i++)
            await new Promise((r) => setTimeout(r, 50));
        });
        // The held activity does not heartbeat, so it never learns of the cancellation: let it end now (an activity
        // left in flight keeps the time-skipping server from answering result()). Its late answer is dropped.
        releaseHeld();
        const err = await handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(WorkflowFailedError);
        expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
        expect((await handle.describe()).status.name).toBe('CANCELLED');
        expect((await env.client.workflow.getHandle(childId).describe()).status.name).toBe('CANCELLED');

        const s = await handle.query(statusQuery);
        expect(s.state).toBe('cancelled');
        expect(s.cancellation).toMatchObject({
          by: 'dora',
          reason: 'plan loaded for the wrong entity',
          tasksCancelled: ['held', 'flaky', 'prelim', 'gl_vs_erp'],
        });
        for (const id of ['held', 'flaky', 'prelim', 'gl_vs_erp'])
          expect(task(s, id)).toMatchObject({ state: 'cancelled', reason: 'cancelled with the close' });
        expect(task(s, 'sox_documentation').state).toBe('pending');
        expect(task(s, 'sox_documentation').output).toBeUndefined();
        expect(evidenceCalls).toBe(0);
        expect(s.finishedAt).toBeDefined();
        expect(s.journal?.at(-1)).toMatchObject({
          by: 'dora',
          action: 'cancel',
          accepted: true,
          reason: 'plan loaded for the wrong entity',
        });

        const events = await eventTypes(handle.workflowId);
        expect(events).toEqual(
          expect.arrayContaining([
            'EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED',
            'EVENT_TYPE_TIMER_CANCELED',
            'EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED',
            'EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED',
            'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED',
          ]),
        );
        expect(events).not.toContain('EVENT_TYPE_WORKFLOW_TASK_FAILED');

        // The cancellation is in the audit ledger, under the name as claimed (the note is not signed).
        const trail = await closeTrail(pool, handle.workflowId);
        expect(trail.map((e) => [e.actor, e.action, e.subject.slice(handle.workflowId.length + 1)])).toEqual([
          ['unverified:dora', 'task.action', 'task/(close)'],
        ]);
        expect(trail[0].payload).toMatchObject({ action: 'cancel', reason: 'plan loaded for the wrong entity' });
      });
    } finally {
      releaseHeld();
    }
  }, 150_000);

  it('names the canceller unknown when the request came without a cancelRequest note, and still ends cancelled', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue,
        activities: createActivities({ systems }),
      }),
    );
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, {
        company: companyId(),
        period: '2026-10',
        owner: 'dora',
        tasks: [
          { id: 'prelim', name: 'Preliminary close', kind: 'manual', ownerRole: 'accountant' },
          { id: 'review', name: 'Review', kind: 'manual', ownerRole: 'supervisor', predecessors: ['prelim'] },
        ],
      });
      await waitFor(handle, (s) => task(s, 'prelim').state === 'running', 'prelim running');
      // A malformed note is not kept: the close does not take a blank name for the canceller.
      await handle.signal(cancelRequestSignal, { by: '  ' });
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      const s = await handle.query(statusQuery);
      expect(s.state).toBe('cancelled');
      expect(s.cancellation).toMatchObject({
        by: 'unknown',
        reason: 'cancellation requested without a cancelRequest note',
        tasksCancelled: ['prelim'],
      });
      expect(task(s, 'review').state).toBe('pending');
    });
  });

  it('is cancelled by `finflow close cancel <id> --reason ... --by ...`, which refuses a close that is no longer running', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue,
        activities: createActivities({ systems }),
      }),
    );
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, {
        company: companyId(),
        period: '2026-10',
        owner: 'dora',
        tasks: [{ id: 'prelim', name: 'Preliminary close', kind: 'manual', ownerRole: 'accountant' }],
      });
      await waitFor(handle, (s) => task(s, 'prelim').state === 'running', 'prelim running');
      const printed: string[] = [];
      const cli = (...args: string[]) =>
        buildProgram((s) => printed.push(s)).parseAsync(['node', 'finflow', '--address', env.address, ...args]);
      await cli('close', 'cancel', handle.workflowId, '--reason', 'duplicate close', '--by', 'carla', '--wait');
      expect(printed).toEqual([
        `cancellation of ${handle.workflowId} requested by carla (unsigned: recorded as claimed)`,
        `${handle.workflowId} cancelled`,
      ]);
      const s = await handle.query(statusQuery);
      expect(s.cancellation).toMatchObject({
        by: 'carla',
        reason: 'duplicate close',
        tasksCancelled: ['prelim'],
        unproven: 'as claimed: the cancelRequest note was not signed',
      });
      expect(s.cancellation?.signed).toBeUndefined();
      await expect(cli('close', 'cancel', handle.workflowId, '--reason', 'again')).rejects.toThrow(
        `${handle.workflowId} is cancelled: there is nothing to cancel`,
      );
      // `finflow close watch` on the cancelled close says so, with who, why and what stopped (not "ended without
      // a result"), and does not report success.
      const lines: string[] = [];
      const watched = await watchClose(handle, { intervalMs: 20, write: (x) => lines.push(x), tty: false });
      expect(watched).toMatchObject({ ok: false, cancelled: true, status: { state: 'cancelled' } });
      expect(cancelledLine(handle.workflowId, watched.status)).toMatch(
        new RegExp(`^${handle.workflowId} was cancelled by carla at \\S+: duplicate close; stopped: prelim$`),
      );
    });
  });

  it("proves who cancelled when the note is signed with the canceller's own key, and records a note signed by someone else, or by someone who may not cancel, for what it is", async () => {
    const people = await PeopleKeys.of(['dora', 'ann', 'carla']);
    const taskQueue = uniqueId('tq');
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue,
        activities: createActivities({ systems, approval: { userKeys: people, ledger } }),
      }),
    );
    const manualPlan = (): CloseStart => ({
      company: companyId(),
      period: '2026-10',
      owner: 'dora',
      tasks: [{ id: 'prelim', name: 'Preliminary close', kind: 'manual', ownerRole: 'accountant' }],
      approvalPolicy: {
        roles: [
          { name: 'accountant', can_prepare: ['reconciliation'] },
          { name: 'controller', can_prepare: ['close_review'] },
        ],
        users: [
          { userId: 'dora', roles: ['controller'] },
          { userId: 'ann', roles: ['accountant'] },
          { userId: 'carla', roles: ['controller'] },
        ],
      },
    });
    const cancelled = async (o: { by: string; reason: string; key: string }) => {
      const handle = await startClose(h, taskQueue, manualPlan());
      await waitFor(handle, (s) => task(s, 'prelim').state === 'running', 'prelim running');
      await cancelClose(env.client, handle.workflowId, {
        by: o.by,
        reason: o.reason,
        signingKey: people.keyOf(o.key),
        now: new Date(await env.currentTimeMs()),
      });
      await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      return { handle, status: await handle.query(statusQuery) };
    };
    await worker.runUntil(async () => {
      // The close owner, with her own key: proven, the proof in the status, the journal and the audit ledger.
      const own = await cancelled({ by: 'dora', reason: 'wrong entity', key: 'dora' });
      expect(own.status.cancellation).toMatchObject({ by: 'dora', reason: 'wrong entity' });
      expect(own.status.cancellation?.signed?.kid).toBe(people.keyOf('dora').kid);
      expect(own.status.cancellation?.unproven).toBeUndefined();
      expect(own.status.cancellation?.notAllowed).toBeUndefined();
      expect(own.status.journal?.at(-1)?.signed?.kid).toBe(people.keyOf('dora').kid);
      const trail = await closeTrail(pool, own.handle.workflowId);
      // The verification's own entry (the signed token, as every verified action leaves), then the cancellation.
      expect(trail.map((e) => [e.actor, e.action])).toEqual([
        ['dora', 'task.action.signed'],
        ['dora', 'task.action'],
      ]);

      // Ann's key on a note naming dora: the close is cancelled all the same (Temporal's request cannot be
      // refused), and the record says dora is only claimed, and why.
      const forged = await cancelled({ by: 'dora', reason: 'wrong entity', key: 'ann' });
      expect(forged.status.state).toBe('cancelled');
      expect(forged.status.cancellation?.signed).toBeUndefined();
      expect(forged.status.cancellation?.unproven).toMatch(
        /^as claimed: the note's signature was refused \(key_of_another_person\)/,
      );
      expect(forged.status.journal?.at(-1)?.note).toContain('as claimed');
      const forgedTrail = await closeTrail(pool, forged.handle.workflowId);
      expect(forgedTrail.filter((e) => e.action === 'task.action').map((e) => e.actor)).toEqual(['unverified:dora']);

      // Ann, proven, is no close manager: her cancellation is recorded as signed and as not hers to make.
      const accountant = await cancelled({ by: 'ann', reason: 'looked wrong', key: 'ann' });
      expect(accountant.status.cancellation?.signed?.kid).toBe(people.keyOf('ann').kid);
      expect(accountant.status.cancellation?.notAllowed).toMatch(/^not theirs to cancel: ann may not cancel the close/);
    });
  }, 120_000);
});
