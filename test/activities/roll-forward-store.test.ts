// Roll-forward in the result store (issue 15), over real PostgreSQL with each period's run sealed under its own
// dataset key (as a worker with keys does): brought-forward items are written sealed under the new run's key and read
// back in clear; an own item holding a brought-forward id is refused with nothing changed; the first-seen date of a
// run's own exceptions is its as-of date.
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { createResultStore, type ExceptionInput } from '../../activities/result-store';
import { createExceptionActionStore } from '../../activities/result-store/exception-actions';
import { createRollForwardStore } from '../../activities/result-store/roll-forward';
import { ColumnSealer } from '../../activities/security/column-seal';
import { freshDatabase } from '../helpers/postgres';

let pool: Pool;
const keys = new Map<string, Buffer>();
/** One dataset key per reconciliation workflow (a period's run), as the envelope gives them. */
const sealerFor = async (runId: string) => {
  const dataset = runId.slice(0, runId.lastIndexOf('/'));
  if (!keys.has(dataset)) keys.set(dataset, randomBytes(32));
  return new ColumnSealer(dataset, keys.get(dataset)!);
};

beforeAll(async () => {
  pool = new Pool({ connectionString: await freshDatabase('roll_forward_store'), max: 4 });
  await createResultStore({ pool, sealerFor }).migrate();
});
afterAll(async () => {
  await pool?.end();
});

const results = () => createResultStore({ pool, sealerFor });
const actions = () => createExceptionActionStore({ pool, results: results(), sealerFor });
const rollForward = () => createRollForwardStore({ pool, results: results(), sealerFor });

const gl = (id: string, key: string, amount: string): ExceptionInput => ({
  itemId: id,
  side: 'a',
  key,
  category: 'missing_in_b',
  currency: 'EUR',
  amount,
  difference: amount,
  aItems: [id],
  amountA: amount,
  amountB: '0',
  evidence: { iban: `DE89 3704 0044 ${key}` },
});
const bank = (id: string, key: string, amount: string): ExceptionInput => ({
  itemId: id,
  side: 'b',
  key,
  category: 'missing_in_a',
  currency: 'EUR',
  amount,
  difference: `-${amount}`,
  bItems: [id],
  amountA: '0',
  amountB: amount,
});

async function period(company: string, month: string, rows: ExceptionInput[]): Promise<string> {
  const { runId } = await results().startRun({
    workflowId: `recon:${company}:${month}:cash`,
    workflowRunId: 'r1',
    reconId: 'cash',
    definitionHash: 'h',
  });
  await results().writeExceptions(runId, rows);
  return runId;
}

describe('roll-forward in the result store', () => {
  it('writes brought-forward items sealed under the new run’s key and reads them back with their history', async () => {
    const jan = await period('SEAL', '2026-01', [gl('GL:1', 'IBAN-0001', '500.00'), gl('GL:2', 'IBAN-0002', '80.00')]);
    const first = await rollForward().rollForward({
      runId: jan,
      reconId: 'cash',
      company: 'SEAL',
      period: '2026-01',
      asOf: '2026-01-31',
    });
    expect(first).toMatchObject({ fromRunId: null, broughtIn: { count: 0 } });
    await actions().apply({
      runId: jan,
      reconId: 'cash',
      actor: { id: 'ana', roles: ['accountant'] },
      ownerRoles: ['accountant'],
      action: { action: 'explain', reasonCode: 'timing', text: 'wire for IBAN DE89 0001 in transit' },
      itemIds: ['GL:1', 'GL:2'],
      at: '2026-02-02T08:00:00Z',
    });
    await results().finishRun(jan, { status: 'exceptions', summary: {} });

    const feb = await period('SEAL', '2026-02', [bank('BK:7', 'IBAN-0001', '500.00')]);
    const out = await rollForward().rollForward({
      runId: feb,
      reconId: 'cash',
      company: 'SEAL',
      period: '2026-02',
      asOf: '2026-02-28',
    });
    expect(out).toMatchObject({
      fromRunId: jan,
      broughtIn: { count: 2, totals: [{ currency: 'EUR', total: '580.00' }] },
      cleared: { count: 1, totals: [{ currency: 'EUR', total: '500.00' }] },
      carried: { count: 1, totals: [{ currency: 'EUR', total: '80.00' }] },
      clearedOwn: 1,
    });

    // Nothing readable at rest: keys, evidence and people's words are sealed in the new run too.
    const { rows: raw } = await pool.query<{ t: string }>(
      `SELECT row_to_json(e)::text AS t FROM recon_exceptions e WHERE run_id = $1`,
      [feb],
    );
    expect(raw).toHaveLength(3);
    for (const r of raw) expect(r.t).not.toMatch(/IBAN-000|DE89|in transit/);

    const rows = await actions().rows(feb);
    expect(rows.find((r) => r.itemId === 'bf:GL:1')).toMatchObject({
      key: 'IBAN-0001',
      state: 'resolved',
      resolutionKind: 'cleared_next_period',
      resolutionReference: 'BK:7',
      explanation: 'wire for IBAN DE89 0001 in transit',
      firstSeen: '2026-01-31',
    });
    expect(rows.find((r) => r.itemId === 'bf:GL:2')).toMatchObject({
      key: 'IBAN-0002',
      state: 'explained',
      reasonCode: 'timing',
      explainedBy: 'ana',
      firstSeen: '2026-01-31',
    });
    expect(rows.find((r) => r.itemId === 'BK:7')).toMatchObject({
      state: 'resolved',
      resolutionReference: `${jan}#GL:1`,
      firstSeen: '2026-02-28',
    });
    const explained = [];
    // Read to the end: a stream left mid-way keeps its pooled connection.
    for await (const batch of results().streamExceptions(feb, { statuses: ['explained'] })) explained.push(...batch);
    expect(explained.map((x) => [x.itemId, x.evidence])).toEqual([['bf:GL:2', { iban: 'DE89 3704 0044 IBAN-0002' }]]);
    const history = await actions().history(feb);
    expect(history.map((h) => [h.action, h.by])).toEqual([['roll_forward', `system:roll-forward (run ${feb})`]]);
    expect(history[0].detail).toMatchObject({
      system: true,
      cleared: [{ item: 'bf:GL:1', from: 'GL:1', by: 'BK:7', records: ['BK:7'] }],
      carried: ['bf:GL:2'],
    });
  });

  it('refuses when an own exception holds a brought-forward item’s id, and changes nothing', async () => {
    const jan = await period('CLASH', '2026-01', [gl('GL:1', 'K1', '10.00')]);
    await rollForward().rollForward({
      runId: jan,
      reconId: 'cash',
      company: 'CLASH',
      period: '2026-01',
      asOf: '2026-01-31',
    });
    await results().finishRun(jan, { status: 'exceptions', summary: {} });
    const feb = await period('CLASH', '2026-02', [{ ...gl('bf:GL:1', 'K1', '-10.00'), side: 'b' }]);
    await expect(
      rollForward().rollForward({
        runId: feb,
        reconId: 'cash',
        company: 'CLASH',
        period: '2026-02',
        asOf: '2026-02-28',
      }),
    ).rejects.toMatchObject({
      type: 'RollForwardConflict',
      message: expect.stringMatching(
        /own exception bf:GL:1 has the id a brought-forward item takes; nothing was rolled forward/,
      ),
    });
    const rows = await actions().rows(feb);
    expect(rows.map((r) => [r.itemId, r.state])).toEqual([['bf:GL:1', 'open']]);
    expect(await actions().history(feb)).toEqual([]);
  });

  it('refuses an as-of date that is not a date and a run that was never started', async () => {
    await expect(
      rollForward().rollForward({ runId: 'x/y', reconId: 'cash', company: 'C', period: '2026-02', asOf: '28.02.2026' }),
    ).rejects.toThrow('roll-forward: asOf "28.02.2026" is not yyyy-mm-dd');
    await expect(
      rollForward().rollForward({ runId: 'x/y', reconId: 'cash', company: 'C', period: '2026-02', asOf: '2026-02-28' }),
    ).rejects.toMatchObject({ type: 'RunNotStarted' });
    await expect(
      rollForward().rollForward({ runId: 'x/y', reconId: 'cash', company: '', period: '2026-02', asOf: '2026-02-28' }),
    ).rejects.toThrow('roll-forward: the company is empty');
  });
});
