// Roll-forward over two periods (issue 15), through Temporal (time-skipping server) with the result store in real
// PostgreSQL: December leaves deposits and checks the bank has not booked; the accountant explains them (one
// explained, two carried forward, one left open); February's bank data holds the other sides of two of them, which
// are cleared by the system with a reference to the matching record, while the others keep their first-seen date,
// age and explanation history; the summary shows the ageing buckets per category and currency.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import ExcelJS from 'exceljs';
import { Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { createActivities } from '../../activities';
import { createResultStore } from '../../activities/result-store';
import { createExceptionActionStore, type LifecycleRow } from '../../activities/result-store/exception-actions';
import { historyAcrossPeriods } from '../../activities/result-store/history-across-periods';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import { Dec } from '../../domain/money';
import type { ReconciliationSummary } from '../../contracts';
import type { reconciliationWorkflow } from '../../workflows';
import { freshDatabase } from '../helpers/postgres';
import { freshTimeSkippingServerPerTest, testWorkerOptions, uniqueId, workflowBundle } from '../helpers/temporal';
import { PERIOD_1, PERIOD_2, definition, loadTables } from './recon-roll-forward-data';

let env: TestWorkflowEnvironment;
let systems: SystemRegistry;
let pool: Pool;
let workDir: string;
let reportsDir: string;

beforeAll(async () => {
  const url = await freshDatabase('recon_roll_forward');
  await loadTables(url);
  systems = systemsFromEnv({
    DATABASE_URL: url,
    FINFLOW_SYSTEMS: JSON.stringify({ ledger: { engine: 'postgres', url } }),
  });
  pool = new Pool({ connectionString: url, max: 2 });
  workDir = await mkdtemp(join(tmpdir(), 'finflow-rf-work-'));
  reportsDir = await mkdtemp(join(tmpdir(), 'finflow-rf-reports-'));
  await workflowBundle();
}, 180_000);

afterAll(async () => {
  await pool?.end();
  await systems?.close();
});

jest.setTimeout(180_000);
freshTimeSkippingServerPerTest((e) => (env = e));

async function reconcile(period: string, company = 'ACME'): Promise<ReconciliationSummary> {
  const taskQueue = uniqueId('recon-rf');
  const worker = await Worker.create(
    await testWorkerOptions({
      connection: env.nativeConnection,
      taskQueue,
      activities: createActivities({ systems, recon: { workDir, reportsDir } }),
    }),
  );
  return worker.runUntil(
    env.client.workflow.execute<typeof reconciliationWorkflow>('reconciliationWorkflow', {
      taskQueue,
      workflowId: uniqueId(`recon:${company}:${period}:gl-vs-bank`),
      args: [{ company, period, reconId: 'gl-vs-bank', definition: definition(), partitions: 1 }],
    }),
  );
}

const results = () => createResultStore({ pool });
const actions = () => createExceptionActionStore({ pool, results: results() });
const byKey = (rows: LifecycleRow[], key: string, bf = false) =>
  rows.find((r) => r.key === key && r.itemId.startsWith('bf:') === bf)!;

describe('reconciliation roll-forward over two periods', () => {
  it('clears the timing differences whose other side arrives next period, with a reference, and carries the rest with their age and history', async () => {
    // December: four GL items the bank has not booked.
    const dec = await reconcile(PERIOD_1);
    expect(dec.perCategory?.missing_in_b).toBe(4);
    expect(dec.openExceptions).toBe(4);
    expect(dec.rollForward).toMatchObject({
      fromRunId: null,
      broughtIn: { count: 0, totals: [] },
      cleared: { count: 0 },
      carried: { count: 0 },
      clearedOwn: 0,
    });
    expect(dec.rollForward?.ageing).toEqual([
      {
        category: 'missing_in_b',
        currency: 'USD',
        buckets: {
          '0-30': { count: 4, total: '187.34' },
          '31-60': { count: 0, total: '0.00' },
          '61-90': { count: 0, total: '0.00' },
          over_90: { count: 0, total: '0.00' },
        },
        count: 4,
        total: '187.34',
      },
    ]);

    // The accountant works December: DEP-1 explained; CHK-2 and CHK-3 explained and carried forward; ERR-4 open.
    const decRows = await actions().rows(dec.runId!);
    expect(decRows.map((r) => r.firstSeen)).toEqual(['2025-12-31', '2025-12-31', '2025-12-31', '2025-12-31']);
    const ids = (keys: string[]) => keys.map((k) => byKey(decRows, k).itemId);
    const act = async (action: Parameters<ReturnType<typeof actions>['apply']>[0]['action'], keys: string[]) =>
      actions().apply({
        runId: dec.runId!,
        reconId: 'gl-vs-bank',
        actor: { id: 'ana', roles: ['accountant'] },
        ownerRoles: ['accountant'],
        action,
        itemIds: ids(keys),
        at: '2026-01-05T09:00:00Z',
      });
    await act({ action: 'explain', reasonCode: 'timing', text: 'deposit in transit' }, ['DEP-1']);
    await act({ action: 'explain', reasonCode: 'timing', text: 'check not yet presented' }, ['CHK-2', 'CHK-3']);
    await act({ action: 'carry_forward', text: 'expected in February' }, ['CHK-2', 'CHK-3']);

    // February: the bank books DEP-1 and CHK-2; GL has a new item NEW-5.
    const feb = await reconcile(PERIOD_2);
    // This period's records only: the brought-forward items are no records of GL or bank.
    expect(feb.a).toEqual({ records: 2, amount: '240.00' });
    expect(feb.b).toEqual({ records: 3, amount: '450.00' });
    expect(feb.perCategory).toMatchObject({ missing_in_a: 2, missing_in_b: 1 });
    expect(feb.controlTotals).toBe('balanced');
    for (const side of ['a', 'b'] as const) {
      const t = feb.totals![side];
      expect(t.records_matched + t.records_unmatched).toBe(t.records_in);
    }
    expect(feb.rollForward).toMatchObject({
      fromRunId: dec.runId,
      fromPeriod: PERIOD_1,
      broughtIn: { count: 4, totals: [{ currency: 'USD', total: '187.34' }] },
      cleared: { count: 2, totals: [{ currency: 'USD', total: '250.00' }] },
      carried: { count: 2, totals: [{ currency: 'USD', total: '-62.66' }] },
      clearedOwn: 2,
    });
    // Still to be worked: NEW-5 and the two carried items (the bank's DEP-1 and CHK-2 cleared December's).
    expect(feb.openExceptions).toBe(3);
    expect(feb.status).toBe('exceptions');

    const febRows = await actions().rows(feb.runId!);
    const system = `system:roll-forward (run ${feb.runId})`;
    for (const key of ['DEP-1', 'CHK-2']) {
      const bank = byKey(febRows, key);
      const carriedIn = byKey(febRows, key, true);
      // December's item: resolved by the system as cleared next period, naming the bank's record.
      expect(carriedIn).toMatchObject({
        state: 'resolved',
        resolutionKind: 'cleared_next_period',
        resolutionReference: bank.side === 'b' ? [...(await bankRecords(feb.runId!, bank.itemId))].join(', ') : '',
        resolvedBy: system,
        firstSeen: '2025-12-31',
        category: 'missing_in_b',
      });
      expect(carriedIn.itemId).toBe(`bf:${byKey(decRows, key).itemId}`);
      // The bank's record: resolved the same way, naming December's item.
      expect(bank).toMatchObject({
        state: 'resolved',
        category: 'missing_in_a',
        resolutionKind: 'cleared_next_period',
        resolutionReference: `${dec.runId}#${byKey(decRows, key).itemId}`,
        resolvedBy: system,
        firstSeen: '2026-02-28',
      });
    }
    // DEP-1 keeps the accountant's explanation; the system's words are the resolution.
    expect(byKey(febRows, 'DEP-1', true)).toMatchObject({ explanation: 'deposit in transit', explainedBy: 'ana' });
    expect(byKey(febRows, 'DEP-1', true).resolution).toMatch(/^cleared next period: the other side, record /);

    // Carried: CHK-3 explained (it was carried forward), ERR-4 still open, both first seen in December.
    expect(byKey(febRows, 'CHK-3', true)).toMatchObject({
      state: 'explained',
      reasonCode: 'timing',
      explanation: 'check not yet presented',
      explainedBy: 'ana',
      firstSeen: '2025-12-31',
      resolvedBy: null,
    });
    expect(byKey(febRows, 'ERR-4', true)).toMatchObject({ state: 'open', firstSeen: '2025-12-31', explanation: null });
    expect(byKey(febRows, 'NEW-5')).toMatchObject({ state: 'open', firstSeen: '2026-02-28' });
    // 59 days old on 28 February: in the 31-60 bucket, filterable by age like any exception.
    const old = await actions().list(feb.runId!, {
      filter: { minAgeDays: 59, states: ['open', 'explained'] },
      asOf: '2026-02-28',
    });
    expect(old.items.map((r) => r.key).sort()).toEqual(['CHK-3', 'ERR-4']);

    // The history follows the item back to December: the accountant's actions, then the system's.
    const chk3 = byKey(febRows, 'CHK-3', true).itemId;
    const history = await historyAcrossPeriods(pool, feb.runId!, chk3);
    expect(history.map((h) => [h.runId === dec.runId ? 'dec' : 'feb', h.action, h.by])).toEqual([
      ['dec', 'explain', 'ana'],
      ['dec', 'carry_forward', 'ana'],
      ['feb', 'roll_forward', system],
    ]);
    const rollActions = (await actions().history(feb.runId!)).filter((h) => h.action === 'roll_forward');
    expect(rollActions).toHaveLength(1);
    expect(rollActions[0]).toMatchObject({ by: system, accepted: true, count: 2 });
    expect(rollActions[0].detail).toMatchObject({ system: true, fromRunId: dec.runId });

    // Ageing on 28 February, per category and currency: the summary, and the summary report.
    const ageing = [
      {
        category: 'missing_in_b',
        currency: 'USD',
        buckets: {
          '0-30': { count: 1, total: '40.00' },
          '31-60': { count: 2, total: '-62.66' },
          '61-90': { count: 0, total: '0.00' },
          over_90: { count: 0, total: '0.00' },
        },
        count: 3,
        total: '-22.66',
      },
    ];
    expect(feb.rollForward?.ageing).toEqual(ageing);
    const json = JSON.parse(
      await readFile(join(reportsDir, 'ACME', PERIOD_2, 'gl-vs-bank_summary_2026-02-28.json'), 'utf8'),
    ) as { ageing: unknown; summary: ReconciliationSummary };
    expect(json.ageing).toEqual(ageing);
    expect(json.summary.rollForward?.cleared.count).toBe(2);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(join(reportsDir, 'ACME', PERIOD_2, 'gl-vs-bank_summary_2026-02-28.xlsx'));
    const sheet = wb.getWorksheet('Ageing')!;
    expect((sheet.getRow(1).values as unknown[]).slice(1, 6)).toEqual([
      'Category',
      'Currency',
      '0-30 days count',
      '0-30 days amount',
      '31-60 days count',
    ]);
    expect((sheet.getRow(2).values as unknown[]).slice(1)).toEqual([
      'missing_in_b',
      'USD',
      1,
      40,
      2,
      -62.66,
      0,
      0,
      0,
      0,
      3,
      -22.66,
    ]);
    // The exceptions report lists the carried items beside this period's, and still adds up.
    const exceptions = JSON.parse(
      await readFile(join(reportsDir, 'ACME', PERIOD_2, 'gl-vs-bank_exceptions_2026-02-28.json'), 'utf8'),
    ) as { exceptions: { item_id: string }[]; count: number };
    expect(exceptions.count).toBe(3 + 4);

    // Rolling forward again (an activity retry) decides the same and changes nothing.
    const again = await createActivities({ systems, recon: { workDir, reportsDir } }).rollForwardRecon({
      runId: feb.runId!,
      reconId: 'gl-vs-bank',
      company: 'ACME',
      period: PERIOD_2,
      asOf: '2026-02-28',
    });
    const { ageing: _a, broughtForwardByCategory, ...rest } = again;
    const { ageing: _b, ...recorded } = feb.rollForward!;
    expect(rest).toEqual(recorded);
    expect(broughtForwardByCategory).toEqual({ missing_in_b: 4 });
    expect(await actions().rows(feb.runId!)).toEqual(febRows);
    expect((await actions().history(feb.runId!)).filter((h) => h.action === 'roll_forward')).toHaveLength(1);
    expect(
      new Dec(feb.rollForward!.cleared.totals[0].total).plus(feb.rollForward!.carried.totals[0].total).toFixed(2),
    ).toBe(feb.rollForward!.broughtIn.totals[0].total);
  });
});

/** The record ids of one of the run's exceptions, as the store holds them. */
async function bankRecords(runId: string, itemId: string): Promise<string[]> {
  const { rows } = await pool.query<{ ids: string[] }>(
    'SELECT a_items || b_items AS ids FROM recon_exceptions WHERE run_id = $1 AND item_id = $2',
    [runId, itemId],
  );
  return rows[0].ids;
}
