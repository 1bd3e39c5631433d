// People's actions on exceptions in the result store (issue 15), on real PostgreSQL: every action a history row
// (who, when, what, which items, count and totals), bulk actions as one row naming each item, all items or none,
// refusals recorded, people's words sealed under the run's key.
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import {
  createExceptionActionStore,
  type ActionRequest,
  type ExceptionActionStore,
} from '../../activities/result-store/exception-actions';
import { createResultStore, type ExceptionInput, type ResultStore } from '../../activities/result-store';
import { ColumnSealer } from '../../activities/security/column-seal';
import { freshDatabase } from '../helpers/postgres';

const ANN = { id: 'ann', roles: ['accountant'] };

function exceptions(): ExceptionInput[] {
  return [
    {
      itemId: 'GL:1',
      side: 'a',
      key: '4000-001',
      category: 'timing_difference',
      currency: 'USD',
      amount: '100.00',
      difference: '100.00',
    },
    {
      itemId: 'GL:2',
      side: 'a',
      key: '4000-002',
      category: 'timing_difference',
      currency: 'USD',
      amount: '-250.50',
      difference: '-250.50',
    },
    {
      itemId: 'GL:3',
      side: 'both',
      key: '5100-001',
      category: 'amount_mismatch',
      currency: 'USD',
      amount: '75000.00',
      difference: '75000.00',
      amountA: '150000.00',
      amountB: '75000.00',
    },
    {
      itemId: 'ERP:4',
      side: 'b',
      key: '4000-003',
      category: 'timing_difference',
      currency: 'EUR',
      amount: '12.345',
      difference: '12.345',
    },
  ];
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected a refusal');
}

describe('exception actions in the result store', () => {
  let pool: Pool;
  let results: ResultStore;
  let actions: ExceptionActionStore;
  let n = 0;
  const newRun = async (store = results) => {
    const { runId } = await store.startRun({
      workflowId: 'recon:ACME:2026-10:gl-vs-erp',
      workflowRunId: `run-${++n}`,
      reconId: 'gl-vs-erp',
      definitionHash: 'sha256:abc',
    });
    await store.writeExceptions(runId, exceptions());
    return runId;
  };
  const req = (runId: string, over: Partial<ActionRequest> = {}): ActionRequest => ({
    runId,
    reconId: 'gl-vs-erp',
    actor: ANN,
    ownerRoles: ['accountant'],
    action: { action: 'explain', reasonCode: 'timing', text: 'cleared on 2 Nov' },
    itemIds: ['GL:1'],
    at: '2026-11-02T10:00:00Z',
    ...over,
  });

  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('exception_actions'), max: 4 });
    results = createResultStore({ pool });
    await results.migrate();
    actions = createExceptionActionStore({ pool, results });
  });
  afterAll(async () => {
    await pool?.end();
  });

  it('explains a bulk selection as one action naming each item, with its count and totals, and records who and when', async () => {
    const runId = await newRun();
    const sel = await actions.list(runId, {
      filter: { categories: ['timing_difference'], currencies: ['USD'] },
      asOf: '2026-11-02',
    });
    expect(sel).toMatchObject({ count: 2, totals: [{ currency: 'USD', total: '-150.50' }] });
    const itemIds = sel.items.map((x) => x.itemId);
    const done = await actions.apply(
      req(runId, {
        itemIds,
        filter: { categories: ['timing_difference'], currencies: ['USD'] },
        expected: { count: sel.count, totals: sel.totals },
        proof: { nonce: `n-${runId}`, kid: 'k1', issuer: 'finflow-cli' },
      }),
    );
    expect(done).toMatchObject({ count: 2, totals: [{ currency: 'USD', total: '-150.50' }] });
    const rows = await actions.rows(runId);
    expect(
      rows
        .filter((r) => r.state === 'explained')
        .map((r) => r.itemId)
        .sort(),
    ).toEqual(['GL:1', 'GL:2']);
    expect(rows.find((r) => r.itemId === 'GL:1')).toMatchObject({
      reasonCode: 'timing',
      explanation: 'cleared on 2 Nov',
      explainedBy: 'ann',
    });
    const history = await actions.history(runId);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      action: 'explain',
      by: 'ann',
      at: '2026-11-02T10:00:00.000Z',
      accepted: true,
      itemIds: ['GL:1', 'GL:2'],
      count: 2,
      totals: [{ currency: 'USD', total: '-150.50' }],
      filter: { categories: ['timing_difference'], currencies: ['USD'] },
      detail: { action: 'explain', reasonCode: 'timing', text: 'cleared on 2 Nov' },
      nonce: `n-${runId}`,
      keyId: 'k1',
    });
    expect((await actions.history(runId, 'GL:2')).map((h) => h.seq)).toEqual([history[0].seq]);
    expect(await actions.history(runId, 'GL:3')).toEqual([]);
  });

  it('resolves with an adjusting entry, reopens with a reason, carries forward, keeping every action in the history', async () => {
    const runId = await newRun();
    await actions.apply(
      req(runId, {
        itemIds: ['GL:3'],
        action: { action: 'explain', reasonCode: 'posting_error', text: 'posted twice' },
      }),
    );
    await actions.apply(
      req(runId, {
        itemIds: ['GL:3'],
        at: '2026-11-03T09:00:00Z',
        action: {
          action: 'resolve',
          kind: 'adjusting_entry',
          text: 'reversed',
          reference: 'JE-2026-10-ADJ-001',
          amount: '75000',
        },
      }),
    );
    expect((await actions.rows(runId)).find((r) => r.itemId === 'GL:3')).toMatchObject({
      state: 'resolved',
      resolutionKind: 'adjusting_entry',
      resolutionReference: 'JE-2026-10-ADJ-001',
      resolutionAmount: '75000',
      resolution: 'reversed',
      resolvedBy: 'ann',
    });
    await actions.apply(
      req(runId, { itemIds: ['GL:3'], action: { action: 'reopen', reason: 'the entry was reversed in error' } }),
    );
    const reopened = (await actions.rows(runId)).find((r) => r.itemId === 'GL:3');
    expect(reopened).toMatchObject({
      state: 'open',
      resolutionKind: null,
      resolvedBy: null,
      reasonCode: 'posting_error',
    });
    await actions.apply(
      req(runId, { itemIds: ['GL:3'], action: { action: 'explain', reasonCode: 'timing', text: 'clears in Nov' } }),
    );
    await actions.apply(req(runId, { itemIds: ['GL:3'], action: { action: 'carry_forward', text: 'to 2026-11' } }));
    expect((await actions.rows(runId)).find((r) => r.itemId === 'GL:3')?.state).toBe('carried_forward');
    expect((await actions.history(runId, 'GL:3')).map((h) => [h.action, h.accepted])).toEqual([
      ['explain', true],
      ['resolve', true],
      ['reopen', true],
      ['explain', true],
      ['carry_forward', true],
    ]);
    const carried: string[] = [];
    for await (const b of results.streamExceptions(runId, { statuses: ['carried_forward'] }))
      carried.push(...b.map((x) => x.itemId));
    expect(carried).toEqual(['GL:3']);
  });

  it('refuses and records: someone without the owner role, another run’s exception, an unknown item, a wrong transition', async () => {
    const runId = await newRun();
    const sam = await failureOf(actions.apply(req(runId, { actor: { id: 'sam', roles: ['supervisor'] } })));
    expect(sam.type).toBe('ExceptionActionUnauthorised');
    expect(sam.message).toMatch(
      /^sam \(supervisor\) may not work the exceptions of gl-vs-erp: only its owner role \(accountant\) may \(refusal recorded as action \d+\)$/,
    );
    const other = await failureOf(actions.apply(req(runId, { claimedRunId: 'recon:ACME:2026-09:gl-vs-erp/run-x' })));
    expect(other.type).toBe('ExceptionOfAnotherRun');
    expect(other.message).toContain(
      `the action names exceptions of run recon:ACME:2026-09:gl-vs-erp/run-x, not of gl-vs-erp's run ${runId}`,
    );
    const ghost = await failureOf(actions.apply(req(runId, { itemIds: ['GL:1', 'GL:99'] })));
    expect(ghost.type).toBe('ExceptionNotFound');
    expect(ghost.message).toContain(`no exception GL:99 in run ${runId}: nothing was changed`);
    const early = await failureOf(
      actions.apply(
        req(runId, { itemIds: ['GL:1', 'GL:2'], action: { action: 'resolve', kind: 'write_off', text: 'x' } }),
      ),
    );
    expect(early.type).toBe('ExceptionTransitionRefused');
    expect(early.message).toContain(
      'exception GL:1 is open: it cannot be resolved (explain it first); nothing was changed',
    );
    // Nothing changed, and every refusal is a row of the history.
    expect((await actions.rows(runId)).every((r) => r.state === 'open')).toBe(true);
    const h = await actions.history(runId);
    expect(h.map((x) => [x.by, x.accepted, x.refusalType])).toEqual([
      ['sam', false, 'ExceptionActionUnauthorised'],
      ['ann', false, 'ExceptionOfAnotherRun'],
      ['ann', false, 'ExceptionNotFound'],
      ['ann', false, 'ExceptionTransitionRefused'],
    ]);
    expect(h[3].itemIds).toEqual(['GL:1', 'GL:2']);
  });

  it('applies a bulk action to all its items or none: one item in the wrong state refuses the whole action', async () => {
    const runId = await newRun();
    await actions.apply(req(runId, { itemIds: ['GL:1'] }));
    await actions.apply(
      req(runId, { itemIds: ['GL:1'], action: { action: 'resolve', kind: 'cleared_next_period', text: 'cleared' } }),
    );
    const err = await failureOf(actions.apply(req(runId, { itemIds: ['GL:2', 'GL:1'] })));
    expect(err.message).toContain('exception GL:1 is resolved: it cannot be explained (reopen it first)');
    expect((await actions.rows(runId)).find((r) => r.itemId === 'GL:2')?.state).toBe('open');
  });

  it('refuses a replayed signed action and one whose items no longer add up to the count and totals signed', async () => {
    const runId = await newRun();
    const proof = { nonce: `replay-${runId}`, kid: 'k1', issuer: 'finflow-cli' };
    await actions.apply(req(runId, { proof }));
    const replay = await failureOf(actions.apply(req(runId, { proof })));
    expect(replay.type).toBe('ExceptionActionReplayed');
    expect(replay.message).toMatch(
      /^the signed action replay-.* was already applied \(action \d+\): a token counts once/,
    );
    const changed = await failureOf(
      actions.apply(
        req(runId, { itemIds: ['GL:2'], expected: { count: 1, totals: [{ currency: 'USD', total: '-250.00' }] } }),
      ),
    );
    expect(changed.type).toBe('ExceptionSelectionChanged');
    expect((await actions.history(runId)).map((h) => [h.accepted, h.nonce])).toEqual([
      [true, proof.nonce],
      [false, proof.nonce],
      [false, null],
    ]);
  });

  it('seals explanations, resolutions and the action detail under the run’s key, and reads them back in clear', async () => {
    const key = randomBytes(32);
    const sealerFor = async () => new ColumnSealer('recon:ACME:2026-10:gl-vs-erp', key);
    const sealedResults = createResultStore({ pool, sealerFor });
    const sealed = createExceptionActionStore({ pool, results: sealedResults, sealerFor });
    const runId = await newRun(sealedResults);
    const secret = 'refund to DE44500105175407324931';
    await sealed.apply(req(runId, { action: { action: 'explain', reasonCode: 'other', text: secret } }));
    await sealed.apply(req(runId, { action: { action: 'resolve', kind: 'no_action', text: secret } }));
    const raw = await pool.query(
      `SELECT e.explanation, e.resolution_note, a.detail FROM recon_exceptions e, recon_exception_actions a
        WHERE e.run_id = $1 AND a.run_id = $1 AND e.item_id = 'GL:1'`,
      [runId],
    );
    expect(JSON.stringify(raw.rows)).not.toContain('DE4450');
    expect((await sealed.rows(runId)).find((r) => r.itemId === 'GL:1')).toMatchObject({
      explanation: secret,
      resolution: secret,
    });
    expect((await sealed.history(runId)).map((h) => (h.detail as { text: string }).text)).toEqual([secret, secret]);
    // A worker without the key cannot read them.
    const err = await failureOf(createExceptionActionStore({ pool, results }).history(runId));
    expect(err.type).toBe('DataKeyMissingError');
  });

  it('gives each exception the date it was first seen, and filters by age and key pattern with paging', async () => {
    const runId = await newRun();
    await pool.query(`UPDATE recon_exceptions SET first_seen = '2026-10-20' WHERE run_id = $1 AND item_id = 'GL:2'`, [
      runId,
    ]);
    const rows = await actions.rows(runId);
    expect(rows.find((r) => r.itemId === 'GL:2')?.firstSeen).toBe('2026-10-20');
    expect(rows.find((r) => r.itemId === 'GL:1')?.firstSeen).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const old = await actions.list(runId, { filter: { minAgeDays: 10 }, asOf: '2026-11-02' });
    expect(old.items.map((x) => x.itemId)).toEqual(['GL:2']);
    const page = await actions.list(runId, {
      filter: { keyPattern: '4000-*' },
      asOf: '2026-11-02',
      offset: 1,
      limit: 1,
    });
    expect(page.count).toBe(3);
    expect(page.items).toHaveLength(1);
    expect(page.totals).toEqual([
      { currency: 'EUR', total: '12.345' },
      { currency: 'USD', total: '-150.50' },
    ]);
  });
});
