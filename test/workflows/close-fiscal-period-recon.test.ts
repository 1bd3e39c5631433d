// A close of a fiscal period (issue 16): with a 4-4-5 calendar, FY2026-P3 runs from 22 February to 28 March 2026,
// not over the calendar month. The close tells its reconciliation the period's bounds, so a source query's
// :period_start and :period_end take exactly those rows, and the as-of date (report names, :as_of_date) is the
// fiscal period's last day. Before, a fiscal period's reconciliation failed ("give asOf"). Time-skipping server,
// sources and result store in real PostgreSQL.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Client } from 'pg';
import { createActivities } from '../../activities';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { CloseStatus, ReconciliationSummary } from '../../contracts';
import type { ReconciliationDefinitionInput } from '../../domain/recon';
import { statusQuery } from '../../workflows/definitions';
import type { monthEndCloseWorkflow } from '../../workflows';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
let workDir: string;
let reportsDir: string;

// [ref, amount, posted_on]: three rows inside FY2026-P3 on both sides, and rows just outside it that a calendar
// month (March) would have taken (29 and 31 March) or that the previous period holds (21 February).
const IN_PERIOD: [string, string, string][] = [
  ['P-1', '100.00', '2026-02-22'],
  ['P-2', '250.00', '2026-03-10'],
  ['P-3', '75.50', '2026-03-28'],
];
const OUTSIDE: [string, string, string][] = [
  ['X-0', '999.00', '2026-02-21'],
  ['X-1', '40.00', '2026-03-29'],
  ['X-2', '60.00', '2026-03-31'],
];

beforeAll(async () => {
  const url = await freshDatabase('close_fiscal_recon');
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    for (const table of ['gl', 'bank']) {
      await db.query(
        `CREATE TABLE ${table} (ref text NOT NULL, amount numeric(18,2) NOT NULL, posted_on date NOT NULL)`,
      );
      // The bank lacks X-0 so that a query ignoring the bounds would leave an exception.
      const rows = table === 'gl' ? [...IN_PERIOD, ...OUTSIDE] : [...IN_PERIOD, ...OUTSIDE.slice(1)];
      for (const r of rows) await db.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, r);
    }
  } finally {
    await db.end();
  }
  systems = systemsFromEnv({
    DATABASE_URL: url,
    FINFLOW_SYSTEMS: JSON.stringify({ ledger: { engine: 'postgres', url } }),
  });
  workDir = await mkdtemp(join(tmpdir(), 'finflow-fiscal-work-'));
  reportsDir = await mkdtemp(join(tmpdir(), 'finflow-fiscal-reports-'));
  await workflowBundle();
}, 180_000);

afterAll(async () => {
  await systems?.close();
});

jest.setTimeout(180_000);
freshTimeSkippingServerPerTest((e) => (env = e));

const side = (table: string): ReconciliationDefinitionInput['a'] => ({
  name: table,
  source: {
    connector: 'postgres',
    system: 'ledger',
    sql: `SELECT ref, amount, posted_on FROM ${table} WHERE posted_on BETWEEN :period_start AND :period_end AND posted_on <= :as_of_date`,
  },
  classification: 'internal',
  key_fields: ['ref'],
  value_fields: ['amount'],
  date_field: 'posted_on',
  currency: 'USD',
});

describe('a close of a fiscal period', () => {
  it("reconciles over the fiscal period's own days and dates its reports at the period's last day", async () => {
    const taskQueue = uniqueId('close-fiscal');
    const company = uniqueId('FISC').replace(/[^A-Za-z0-9-]/g, '');
    const worker = await Worker.create(
      await testWorkerOptions({
        connection: env.nativeConnection,
        taskQueue,
        activities: createActivities({ systems, recon: { workDir, reportsDir } }),
      }),
    );
    const status = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof monthEndCloseWorkflow>('monthEndCloseWorkflow', {
        taskQueue,
        workflowId: `close:${company}:FY2026-P3`,
        args: [
          {
            company,
            period: 'FY2026-P3',
            owner: 'carla.controller',
            fiscalCalendar: {
              type: 'weeks_52_53',
              pattern: '4-4-5',
              yearEnd: { rule: 'last', weekday: 'saturday', month: 12 },
            },
            tasks: [
              {
                id: 'gl-vs-bank',
                name: 'GL against the bank',
                kind: 'reconciliation',
                ownerRole: 'accountant',
                config: {
                  definition: {
                    id: 'gl-vs-bank',
                    a: side('gl'),
                    b: side('bank'),
                    rules: [{ id: 'exact', type: 'exact' }],
                  },
                  partitions: 1,
                },
              },
            ],
          },
        ],
      });
      await handle.result();
      return handle.query(statusQuery);
    });
    const task = (status as CloseStatus).tasks.find((t) => t.id === 'gl-vs-bank')!;
    const summary = task.result as ReconciliationSummary;
    // Only the three rows of 22 February - 28 March on each side: nothing outside, so nothing unmatched.
    expect(summary.a).toEqual({ records: 3, amount: '425.50' });
    expect(summary.b).toEqual({ records: 3, amount: '425.50' });
    expect(summary.status).toBe('balanced');
    expect(task.state).toBe('done');
    // Report names carry the as-of date: the fiscal period's last day, not 31 March.
    const names = summary.reports!.map((r) => r.path.split('/').pop());
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(n).toContain('2026-03-28');
    expect((await readdir(reportsDir)).some((f) => f.includes('2026-03-31'))).toBe(false);
  });
});
