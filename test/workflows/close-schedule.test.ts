// The recurring close's starter on the time-skipping server (issue 16's schedules): scheduledCloseWorkflow works
// out the period a run closes from its time and the plan's fiscal calendar, starts that period's close as an
// abandoned child with the close's own id, leaves a period already started alone, and fails a plan whose calendar
// does not parse as an invalid plan, naming the company.
import { Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { CloseStatus } from '../../contracts';
import { closeWorkflowId } from '../../domain/ids';
import type { scheduledCloseWorkflow } from '../../workflows';
import { statusQuery } from '../../workflows/definitions';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';
import { companyId, terminateLeftovers, type Harness } from './close-harness';

let env: TestWorkflowEnvironment;
const h: Harness = { env: () => env, started: [] };

beforeAll(async () => {
  await workflowBundle();
}, 120_000);
afterEach(() => terminateLeftovers(h));
freshTimeSkippingServerPerTest((e) => (env = e));

const FOUR_FOUR_FIVE = {
  type: 'weeks_52_53',
  pattern: '4-4-5',
  yearEnd: { rule: 'last', weekday: 'saturday', month: 12 },
};

function plan(company: string, extra: Record<string, unknown> = {}) {
  return {
    company,
    owner: 'carla.controller',
    tasks: [{ id: 'prelim', name: 'Preliminary close', kind: 'manual', ownerRole: 'accountant' }],
    ...extra,
  };
}

/**
 * Runs the starter through a plain client: the time-skipping client would skip time while it waits, far enough for
 * the abandoned close to time out (and a timed-out close may be started again, as a failed one may).
 */
async function runStarter(taskQueue: string, input: Parameters<typeof scheduledCloseWorkflow>[0]) {
  return new Client({ connection: env.connection }).workflow.execute<typeof scheduledCloseWorkflow>('scheduledCloseWorkflow', {
    taskQueue,
    workflowId: uniqueId('sched'),
    args: [input],
  });
}

describe('the scheduled close starter', () => {
  it('starts the close of the month that ended before the run, once, and leaves a second trigger alone', async () => {
    const taskQueue = uniqueId('sched-q');
    const company = companyId();
    const worker = await Worker.create(await testWorkerOptions({ connection: env.nativeConnection, taskQueue }));
    await worker.runUntil(async () => {
      const first = await runStarter(taskQueue, { plan: plan(company), at: '2026-11-03T06:00:00.000Z' });
      h.started.push(first.closeWorkflowId);
      expect(first).toEqual({
        closeWorkflowId: closeWorkflowId(company, '2026-10'),
        period: '2026-10',
        at: '2026-11-03T06:00:00.000Z',
        started: true,
      });
      const close = env.client.workflow.getHandle(first.closeWorkflowId);
      const status = await waitForStatus(() => close.query(statusQuery));
      expect(status.period).toBe('2026-10');
      expect(status.company).toBe(company);

      const again = await runStarter(taskQueue, { plan: plan(company), at: '2026-11-04T06:00:00.000Z' });
      expect(again.started).toBe(false);
      expect(again.closeWorkflowId).toBe(first.closeWorkflowId);
    });
  });

  it("closes the fiscal period of the plan's 4-4-5 calendar, and takes the run's own start time without an at", async () => {
    const taskQueue = uniqueId('sched-q');
    const company = companyId();
    const worker = await Worker.create(await testWorkerOptions({ connection: env.nativeConnection, taskQueue }));
    await worker.runUntil(async () => {
      // 1 April 2026 lies in FY2026-P4 of this calendar (P3 ended Saturday 28 March), so P3 is the one to close.
      const fiscal = await runStarter(taskQueue, {
        plan: plan(company, { fiscalCalendar: FOUR_FOUR_FIVE }),
        at: '2026-04-01T06:00:00.000Z',
      });
      h.started.push(fiscal.closeWorkflowId);
      expect(fiscal.period).toBe('FY2026-P03');
      expect(fiscal.closeWorkflowId).toBe(closeWorkflowId(company, 'FY2026-P03'));

      const other = companyId();
      const now = new Date(await env.currentTimeMs());
      const byClock = await runStarter(taskQueue, { plan: plan(other) });
      h.started.push(byClock.closeWorkflowId);
      const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
      expect(byClock.period).toBe(lastMonth);
      expect(byClock.started).toBe(true);
    });
  });

  it('fails a plan whose fiscal calendar does not parse as an invalid plan naming the company', async () => {
    const taskQueue = uniqueId('sched-q');
    const company = companyId();
    const worker = await Worker.create(await testWorkerOptions({ connection: env.nativeConnection, taskQueue }));
    await worker.runUntil(async () => {
      const err = await runStarter(taskQueue, {
        plan: plan(company, { fiscalCalendar: { type: 'weeks_52_53', pattern: '4-4-6' } }),
        at: '2026-11-03T06:00:00.000Z',
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe('InvalidClosePlan');
      expect((cause as ApplicationFailure).message).toContain(`scheduled close of ${company}`);
    });
  });
});

async function waitForStatus(read: () => Promise<CloseStatus>): Promise<CloseStatus> {
  for (let i = 0; ; i++) {
    try {
      return await read();
    } catch (err) {
      if (i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
