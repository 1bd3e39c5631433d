// A close plan written in the one casing (snake_case, issue 19) and started with the plain Temporal CLI reaches the
// close workflow as written: the workflow reads it as the camelCase plan it has always been given, and refuses a
// field given in both spellings at start, naming both.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { statusQuery, taskActionSignal } from '../../workflows/definitions';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, uniqueId, workflowBundle } from '../helpers/temporal';
import {
  closeWorker,
  companyId,
  startClose,
  terminateLeftovers,
  waitFor,
  type CloseStart,
  type Harness,
} from './close-harness';

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
const h: Harness = { env: () => env, started: [] };

beforeAll(async () => {
  systems = systemsFromEnv({ DATABASE_URL: await freshDatabase('close_casing') });
  await workflowBundle();
}, 120_000);

afterEach(() => terminateLeftovers(h));

freshTimeSkippingServerPerTest((e) => (env = e));

afterAll(async () => {
  await systems?.close();
});

/** A plan as a file now writes it (what `temporal workflow start --input-file` sends as it is). */
function snakePlan(company: string): Record<string, unknown> {
  return {
    company,
    period: '2026-10',
    owner: 'carla',
    max_parallel: 1,
    tasks: [
      {
        id: 'prep',
        name: 'Prepare',
        kind: 'manual',
        owner_role: 'accountant',
        expected_duration: '2h',
        done_when: 'the ledger is soft-closed',
      },
      { id: 'review', name: 'Review', kind: 'manual', owner_role: 'controller', predecessors: ['prep'] },
    ],
  };
}

describe('a close plan written in snake_case, started as written', () => {
  it('runs as the camelCase plan would: owner roles, durations and dependencies taken from the snake_case fields', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await closeWorker(env, taskQueue, { systems });
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, snakePlan(companyId()) as unknown as CloseStart);
      const first = await waitFor(handle, (s) => s.tasks.find((t) => t.id === 'prep')?.state === 'running');
      expect(first.tasks.find((t) => t.id === 'prep')).toMatchObject({
        ownerRole: 'accountant',
        expectedDuration: '2h',
        doneWhen: 'the ledger is soft-closed',
      });
      expect(first.tasks.find((t) => t.id === 'review')).toMatchObject({ ownerRole: 'controller', state: 'pending' });
      await handle.signal(taskActionSignal, { action: 'complete', taskId: 'prep', by: 'ann' });
      const done = await waitFor(handle, (s) => s.tasks.find((t) => t.id === 'review')?.state === 'running');
      expect(done.tasks.find((t) => t.id === 'prep')?.state).toBe('done');
      expect((await handle.query(statusQuery)).state).toBe('running');
    });
  });

  it('fails at start, not retryable, when a field is given in both spellings, naming both', async () => {
    const taskQueue = uniqueId('tq');
    const worker = await closeWorker(env, taskQueue, { systems });
    const plan = { ...snakePlan(companyId()), maxParallel: 2 };
    await worker.runUntil(async () => {
      const handle = await startClose(h, taskQueue, plan as unknown as CloseStart);
      const failure = await handle.result().catch((e: unknown) => e);
      expect(failure).toMatchObject({
        cause: {
          type: 'InvalidClosePlan',
          nonRetryable: true,
          message: expect.stringContaining('max_parallel and maxParallel are the same field in two spellings'),
        },
      });
    });
  });
});
