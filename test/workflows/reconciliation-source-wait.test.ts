// A source system that is down does not fail the close's reconciliation at once (issue 20): the extraction is
// tried again with backoff over the source's retry window, the close's task says which source, what error and
// when the next attempt is, the run completes once the source is back, and after the window the task blocks with
// the reason. The source is a private MariaDB this suite stops and starts; Temporal is the time-skipping server.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createMysqlPool } from '../../activities/connectors/mysql';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { ClosePlanInput } from '../../domain/close/plan';
import { reconWorkflowId } from '../../domain/ids';
import type { SourceWait } from '../../domain/source-wait';
import { startMariaDb, createMariaDatabase, type MariaDbHandle } from '../../scripts/lib/mariadb';
import type { monthEndCloseWorkflow } from '../../workflows';
import { reconSourceWaitsQuery } from '../../workflows/source-wait';
import type { CloseRunOptions, CloseStatus } from '../../contracts';
import { statusQuery } from '../../workflows/definitions';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';
import { task } from './close-harness';

let env: TestWorkflowEnvironment;
let maria: MariaDbHandle;
let systems: SystemRegistry;
let workDir: string;
let glFile: string;

beforeAll(async () => {
  maria = await startMariaDb();
  const erpUrl = await createMariaDatabase(maria.adminUrl, 'erp');
  const pool = createMysqlPool(erpUrl);
  await pool.query('CREATE TABLE erp (account_code VARCHAR(20) NOT NULL, amount DECIMAL(18,2) NOT NULL)');
  await pool.query("INSERT INTO erp VALUES ('1','100.00'),('2','250.00'),('3','7.50')");
  await pool.end();
  workDir = await mkdtemp(join(tmpdir(), 'finflow-source-wait-'));
  glFile = join(workDir, 'gl.csv');
  await writeFile(glFile, 'account_code,amount\n1,100.00\n2,250.00\n4,9.00\n');
  systems = systemsFromEnv({
    DATABASE_URL: await freshDatabase('source_wait'),
    FINFLOW_SYSTEMS: JSON.stringify({ erp: { engine: 'mysql', url: erpUrl, retryWindow: '10m' } }),
  });
  await workflowBundle();
}, 180_000);

afterAll(async () => {
  await systems?.close();
  await maria?.stop();
});

freshTimeSkippingServerPerTest((e) => (env = e));
jest.setTimeout(150_000);

const started: string[] = [];
afterEach(async () => {
  for (const id of started.splice(0))
    await env.client.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
  await maria.up();
});

function plan(company: string): ClosePlanInput & CloseRunOptions {
  return {
    company,
    period: '2026-10',
    name: 'source wait',
    owner: 'dora',
    // Ends the close soon after its only task blocks, so the test reads the final status.
    blockedTimeout: '1m',
    tasks: [
      {
        id: 'gl_vs_erp',
        name: 'GL vs ERP',
        kind: 'reconciliation',
        ownerRole: 'accountant',
        retry: { maximumAttempts: 1 },
        config: {
          reconId: 'gl-vs-erp',
          definition: {
            id: 'gl-vs-erp',
            a: {
              source: { connector: 'csv', path: glFile },
              classification: 'internal',
              key_fields: ['account_code'],
              value_fields: ['amount'],
              currency: 'USD',
            },
            b: {
              source: { connector: 'mysql', system: 'erp', table: 'erp' },
              classification: 'internal',
              key_fields: ['account_code'],
              value_fields: ['amount'],
              currency: 'USD',
            },
            rules: [{ id: 'exact', type: 'exact' }],
          },
        },
      },
    ],
  } as ClosePlanInput & CloseRunOptions;
}

async function closeWorker(taskQueue: string): Promise<Worker> {
  return Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      activities: createActivities({ systems, recon: { workDir, reportsDir: workDir } }),
    }),
  );
}

async function startClose(taskQueue: string) {
  const company = uniqueId('SW').replace(/[^A-Za-z0-9-]/g, '');
  const closeId = `close:${company}:2026-10`;
  started.push(closeId);
  const handle = await env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
    taskQueue,
    workflowId: closeId,
    args: [plan(company)],
  });
  return { handle, reconId: reconWorkflowId(company, '2026-10', 'gl-vs-erp') };
}

/** Polls the close's status until `ok` (a minute at most: a loaded machine starts threads slowly). */
async function waitFor(
  handle: { query: (q: typeof statusQuery) => Promise<CloseStatus> },
  ok: (s: CloseStatus) => boolean,
  what: string,
): Promise<CloseStatus> {
  const deadline = Date.now() + 60_000;
  let last: CloseStatus | undefined;
  while (Date.now() < deadline) {
    last = await handle.query(statusQuery);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`status never reached ${what}; last: ${JSON.stringify(last?.tasks.map((t) => [t.state, t.reason]))}`);
}

describe('a reconciliation source that is down', () => {
  it('is waited for while the close names the source, the error and the next attempt, and the run completes once it is back', async () => {
    await maria.down();
    const taskQueue = uniqueId('source-wait');
    const worker = await closeWorker(taskQueue);
    await worker.runUntil(async () => {
      const { handle, reconId } = await startClose(taskQueue);
      // No result() is awaited yet, so the test server does not skip time: the backoff runs on the wall clock.
      const waiting = await waitFor(
        handle,
        (s) => task(s, 'gl_vs_erp').reason?.startsWith('waiting for source mysql:erp') === true,
        'the task waiting for the source',
      );
      const t = task(waiting, 'gl_vs_erp');
      expect(t.state).toBe('running');
      expect(t.reason).toMatch(/ECONNREFUSED/);
      expect(t.reason).toMatch(/next attempt at \d{4}-\d{2}-\d{2}T/);
      expect(t.reason).toMatch(/gives up after 10m/);
      const waits: SourceWait[] = await env.client.workflow.getHandle(reconId).query(reconSourceWaitsQuery);
      expect(waits).toHaveLength(1);
      expect(waits[0]).toMatchObject({ side: 'b', source: 'mysql:erp', windowMs: 600_000 });
      expect(waits[0].error).toMatch(/ECONNREFUSED/);
      expect(Date.parse(waits[0].nextAttemptAt)).toBeGreaterThan(Date.parse(waits[0].since));

      await maria.up();
      const done = await handle.result();
      const r = task(done, 'gl_vs_erp');
      expect(r.state).toBe('done_with_exceptions');
      expect(r.reason).toBeUndefined();
      expect(r.result).toMatchObject({ matches: 2, keys: { missingInA: 1, missingInB: 1 } });
      expect(await env.client.workflow.getHandle(reconId).query(reconSourceWaitsQuery)).toEqual([]);
    });
  });

  it('blocks the task with the source and the error once the retry window is spent', async () => {
    await maria.down();
    const taskQueue = uniqueId('source-wait');
    const worker = await closeWorker(taskQueue);
    await worker.runUntil(async () => {
      const { handle } = await startClose(taskQueue);
      // The close ends a minute after its task blocks (blockedTimeout); the test server skips the waits.
      const done = await handle.result();
      const t = task(done, 'gl_vs_erp');
      expect(t.state).toBe('blocked');
      expect(t.reason).toMatch(
        /^failed after 1 attempt: extracting side b \(b\): source mysql:erp \(side b\) unavailable for 10m since \S+ \(\d+ attempts\): .*ECONNREFUSED/,
      );
      expect(done.state).toBe('blocked');
    });
  });
});
